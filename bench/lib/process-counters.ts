/**
 * CPU time (all threads) this process spent over a stretch and, on Linux, its read and write syscalls
 * (`/proc/self/io`: on a VM a loopback write costs ~10 µs, so writes per request matter).
 */
import { readFileSync } from 'node:fs';

function syscalls(): { reads: number; writes: number } | null {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? Number.NaN);
    const [reads, writes] = [field('syscr'), field('syscw')];
    return Number.isFinite(reads) && Number.isFinite(writes) ? { reads, writes } : null;
  } catch {
    return null;
  }
}

/** Starts counting; the returned function gives what was spent since. */
export function startCounters() {
  const cpu = process.cpuUsage();
  const io = syscalls();
  return () => {
    const spent = process.cpuUsage(cpu);
    const now = syscalls();
    return {
      /** µs of CPU (user + system). */
      cpuMicros: spent.user + spent.system,
      readSyscalls: io && now ? now.reads - io.reads : null,
      writeSyscalls: io && now ? now.writes - io.writes : null,
    };
  };
}

/** `value` per request, to 0.01; null stays null. */
export function perRequest(value: number | null, requests: number): number | null {
  return value === null ? null : Math.round((100 * value) / Math.max(1, requests)) / 100;
}

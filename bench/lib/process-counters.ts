/**
 * What this process spent over a measured stretch: CPU time (all threads) and, on Linux, read and
 * write syscalls (`/proc/self/io` `syscr`/`syscw`; on a VM a loopback write costs ~10 µs of CPU, so the
 * number of writes per request explains a good part of a server's CPU). Elsewhere syscalls are null.
 */
import { readFileSync } from 'node:fs';

export interface ProcessCounters {
  /** µs of CPU (user + system). */
  readonly cpuMicros: number;
  readonly readSyscalls: number | null;
  readonly writeSyscalls: number | null;
}

function syscalls(): { reads: number; writes: number } | null {
  try {
    const fields = new Map<string, number>();
    for (const line of readFileSync('/proc/self/io', 'utf8').split('\n')) {
      const [name, value] = line.split(': ');
      if (name && value) fields.set(name, Number(value));
    }
    const reads = fields.get('syscr') ?? Number.NaN;
    const writes = fields.get('syscw') ?? Number.NaN;
    return Number.isFinite(reads) && Number.isFinite(writes) ? { reads, writes } : null;
  } catch {
    return null;
  }
}

/** Starts counting; the returned function gives what was spent since. */
export function startCounters(): () => ProcessCounters {
  const cpu = process.cpuUsage();
  const io = syscalls();
  return () => {
    const spent = process.cpuUsage(cpu);
    const now = syscalls();
    const both = io !== null && now !== null;
    return {
      cpuMicros: spent.user + spent.system,
      readSyscalls: both ? now.reads - io.reads : null,
      writeSyscalls: both ? now.writes - io.writes : null,
    };
  };
}

/** `value` per request, to 0.01; null stays null. */
export function perRequest(value: number | null, requests: number): number | null {
  return value === null ? null : Math.round((100 * value) / Math.max(1, requests)) / 100;
}

/** CPU time (all threads, user + system) this process, or another one by pid, spends over a stretch. */
import { readFileSync } from 'node:fs';

/** Starts counting; the returned function gives the µs of CPU spent since. */
export function startCounters() {
  const cpu = process.cpuUsage();
  return () => {
    const spent = process.cpuUsage(cpu);
    return { cpuMicros: spent.user + spent.system };
  };
}

/** CPU time (user + system, µs) another process has spent so far, from Linux's /proc/<pid>/stat. */
export function processCpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14 and stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / CLOCK_TICKS_PER_SEC;
}

/** Linux's USER_HZ: the unit of /proc/<pid>/stat times on every architecture Node runs on. */
const CLOCK_TICKS_PER_SEC = 100;

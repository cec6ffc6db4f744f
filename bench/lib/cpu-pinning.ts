/**
 * Pins bench processes to CPUs with util-linux `taskset`, so that one box can stand in for separate
 * machines (auth-flood: the cloud on one core, the valid client and a niced attacker on the other).
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** Why processes cannot be pinned here (fewer than 2 cores, no `taskset`), or undefined when they can. */
export function cannotPin(): string | undefined {
  if (availableParallelism() < 2) return `${availableParallelism()} core(s); pinning needs 2`;
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return '`taskset` (util-linux) not found';
  }
}

/** Pins every thread of process `pid` to `cpus` (a taskset list, e.g. '0'); threads it starts later inherit it. */
export function pinProcess(pid: number, cpus: string): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { stdio: 'ignore' });
}

/** The command prefix that starts a program on `cpus` at niceness `nice`: `taskset -c … nice -n …`. */
export function pinnedCommand(cpus: string, nice: number): string[] {
  return ['taskset', '--cpu-list', cpus, 'nice', '-n', String(nice)];
}

/**
 * One process per durable queue directory: a `queue.lock` file (0600) holding the owner's pid,
 * created exclusively. A lock left by a process that no longer runs (kill -9, power loss) is taken
 * over; one held by a live process is UNAVAILABLE.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';

export class QueueLock {
  readonly #path: string;
  #held = true;

  private constructor(path: string) {
    this.#path = path;
  }

  static take(dir: string): QueueLock {
    const path = join(dir, 'queue.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new QueueLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new FoglineError(
          'UNAVAILABLE',
          `durable queue ${dir} is in use by process ${owner} (one open device per directory)`,
        );
      }
      unlinkSync(path); // stale: its process is gone
    }
    throw new FoglineError('UNAVAILABLE', `cannot lock durable queue ${dir}`);
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    try {
      unlinkSync(this.#path);
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

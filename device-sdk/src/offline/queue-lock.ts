/**
 * One process per durable queue directory: a `queue.lock` file (0600) holding the owner's pid,
 * created exclusively. A lock left by a process that no longer runs (kill -9, power loss) is taken
 * over; one held by a live process is UNAVAILABLE. The lock found there is read without following a
 * link (@fogline/shared/storage own-file.ts): a link or anything but a file in its place is refused
 * (INVALID_ARG naming it), never read through.
 */
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { type NotOwnFile, PRIVATE_FILE_MODE, readOwnFileSync } from '@fogline/shared/storage';

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
        const fd = openSync(path, 'wx', PRIVATE_FILE_MODE); // O_EXCL: never through a link
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new QueueLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = Number(readOwnFileSync(path, (what, cause) => notALock(path, what, cause)).text.trim());
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

function notALock(path: string, what: NotOwnFile, cause?: unknown): FoglineError {
  return new FoglineError(
    'INVALID_ARG',
    `durable queue lock ${path} is ${what}, not the lock the queue wrote: remove it (offline.dir holds the queue's own files only)`,
    { details: { field: 'offline.dir', file: path }, ...(cause !== undefined && { cause }) },
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Group commit for the durable queue's files (docs/device-sdk.md "Offline: the durable store"): a
 * line is written to the page cache at once (writeSync, cheap), and made durable by one fdatasync
 * per file written, on libuv's thread pool, never on the event loop. One batch is in flight at a
 * time; the lines written meanwhile form the next one, started as soon as it ends, so a slower disk
 * gets fewer, larger batches rather than a longer queue of syncs. The first line of an idle queue
 * waits for the end of the event-loop turn (setImmediate), so what one turn writes costs one sync.
 * `flushSync` (close only) syncs what is left on the event loop.
 */
import { fdatasync, fdatasyncSync } from 'node:fs';

/** How the files reach the disk; node:fs by default (tests wrap it to count or hold syncs). */
export interface DiskSync {
  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  fdatasyncSync(fd: number): void;
}

export const NODE_DISK_SYNC: DiskSync = { fdatasync, fdatasyncSync };

interface Batch {
  /** Files written since the batch began: each is synced once. */
  readonly fds: Set<number>;
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

export class GroupCommit {
  readonly #disk: DiskSync;
  readonly #onSettled: () => void;
  /** Lines written and not yet being synced. */
  #next: Batch | undefined;
  #inFlight: Batch | undefined;
  #scheduled: ReturnType<typeof setImmediate> | undefined;

  /** `onSettled` runs after each batch, synced or failed, with no sync in flight any more. */
  constructor(disk: DiskSync, onSettled: () => void) {
    this.#disk = disk;
    this.#onSettled = onSettled;
  }

  /** A line was written to `fd`: durable once the promise `synced()` gives from now on resolves. */
  wrote(fd: number): void {
    this.#next ??= batch();
    this.#next.fds.add(fd);
    if (this.#inFlight === undefined && this.#scheduled === undefined) {
      this.#scheduled = setImmediate(() => this.#start());
    }
  }

  /**
   * Resolves once every line written so far is on disk; rejects with the error of the sync (EIO,
   * ENOSPC, …) of the batch that held them.
   */
  synced(): Promise<void> {
    return (this.#next ?? this.#inFlight)?.promise ?? Promise.resolve();
  }

  /** Whether `fd` has lines waiting for a sync, or a sync running: it must stay open until then. */
  busy(fd: number): boolean {
    return this.#next?.fds.has(fd) === true || this.#inFlight?.fds.has(fd) === true;
  }

  /** Syncs the lines not yet synced, on the event loop (close); a batch in flight goes on. */
  flushSync(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const pending = this.#next;
    this.#next = undefined;
    if (pending === undefined) return;
    let error: Error | undefined;
    for (const fd of pending.fds) {
      try {
        this.#disk.fdatasyncSync(fd);
      } catch (err) {
        error ??= err as Error;
      }
    }
    settle(pending, error);
  }

  #start(): void {
    this.#scheduled = undefined;
    const current = this.#next;
    if (current === undefined) return;
    this.#next = undefined;
    this.#inFlight = current;
    let left = current.fds.size;
    let error: Error | undefined;
    for (const fd of current.fds) {
      this.#disk.fdatasync(fd, (err) => {
        error ??= err ?? undefined;
        if (--left > 0) return;
        this.#inFlight = undefined;
        settle(current, error);
        this.#onSettled();
        if (this.#next !== undefined) this.#start();
      });
    }
  }
}

function batch(): Batch {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Whoever asked for this batch gets its error through synced(); no unhandled rejection otherwise.
  promise.catch(() => {});
  return { fds: new Set(), promise, resolve, reject };
}

function settle(b: Batch, error: Error | undefined): void {
  if (error === undefined) b.resolve();
  else b.reject(error);
}

/**
 * Group commit for the durable queue's files (docs/device-sdk.md "Offline: the durable store"): a
 * line is written to the page cache at once (writeSync, cheap), and made durable by one fdatasync
 * per file written, on libuv's thread pool, never on the event loop. One batch is in flight at a
 * time; the lines written meanwhile form the next one, started as soon as it ends, so a slower disk
 * gets fewer, larger batches rather than a longer queue of syncs. The first line of an idle queue
 * waits for the end of the event-loop turn (setImmediate), so what one turn writes costs one sync.
 * A batch during which a segment was created or deleted also fsyncs the directory, alongside its
 * files: a line of a new segment is durable only once the segment's entry is. `flushSync` (close
 * only) syncs what is left on the event loop.
 */
import { type DiskSync, syncDir, syncDirSync } from './disk-sync.ts';

interface Batch {
  /** Files written since the batch began: each is synced once. */
  readonly fds: Set<number>;
  /** Whether the directory's entries changed since the batch began (a segment created or deleted). */
  dir: boolean;
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

export class GroupCommit {
  readonly #disk: DiskSync;
  readonly #dir: string;
  readonly #onSettled: () => void;
  /** Lines written and not yet being synced. */
  #next: Batch | undefined;
  #inFlight: Batch | undefined;
  #scheduled: ReturnType<typeof setImmediate> | undefined;
  /** The directory's last sync failed: the next batch syncs it again. */
  #dirOwed = false;

  /**
   * For the files of directory `dir`; `onSettled` runs after each batch, synced or failed, with no
   * sync in flight any more.
   */
  constructor(disk: DiskSync, dir: string, onSettled: () => void) {
    this.#disk = disk;
    this.#dir = dir;
    this.#onSettled = onSettled;
  }

  /** A line was written to `fd`: durable once the promise `synced()` gives from now on resolves. */
  wrote(fd: number): void {
    this.#queued().fds.add(fd);
  }

  /** A segment was created or deleted: its entry is durable once `synced()` from now on resolves. */
  changedDir(): void {
    this.#queued().dir = true;
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
    if (pending.dir) {
      try {
        syncDirSync(this.#disk, this.#dir);
      } catch (err) {
        error ??= err as Error;
      }
    }
    settle(pending, error);
  }

  /** The batch that takes what is written now: started at the end of this turn when none is in flight. */
  #queued(): Batch {
    if (this.#next === undefined) {
      this.#next = batch();
      this.#next.dir = this.#dirOwed;
      this.#dirOwed = false;
    }
    if (this.#inFlight === undefined && this.#scheduled === undefined) {
      this.#scheduled = setImmediate(() => this.#start());
    }
    return this.#next;
  }

  /** A segment's entry may not be durable yet: the next batch (the one forming, or the one after) syncs it. */
  #oweDir(): void {
    if (this.#next !== undefined) this.#next.dir = true;
    else this.#dirOwed = true;
  }

  #start(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const current = this.#next;
    if (current === undefined || this.#inFlight !== undefined) return;
    this.#next = undefined;
    this.#inFlight = current;
    let left = current.fds.size + (current.dir ? 1 : 0);
    let error: Error | undefined;
    const ended = (err: Error | null) => {
      error ??= err ?? undefined;
      if (--left > 0) return;
      this.#inFlight = undefined;
      settle(current, error);
      this.#onSettled(); // may delete segments: changedDir() queues the directory's sync
      if (this.#next !== undefined) this.#start();
    };
    for (const fd of current.fds) this.#disk.fdatasync(fd, ended);
    if (!current.dir) return;
    syncDir(this.#disk, this.#dir, (err) => {
      if (err !== null) this.#oweDir();
      ended(err);
    });
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
  return { fds: new Set(), dir: false, promise, resolve, reject };
}

function settle(b: Batch, error: Error | undefined): void {
  if (error === undefined) b.resolve();
  else b.reject(error);
}

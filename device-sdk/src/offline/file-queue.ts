/**
 * The device's durable request queue on disk (docs/device-sdk.md "Offline: the durable store"): the
 * index of the requests not yet done (in memory, in the order they were put) over an append-only log
 * of segment files (./segment-file.ts, their lines ./queue-record.ts) under one directory (0700,
 * ./private-dir.ts; one process at a time, ./queue-lock.ts). Each line is written (to the page cache)
 * before `append`/`complete` return, and made durable by a group commit (./group-commit.ts): one
 * fdatasync per batch, off the event loop, with an fsync of the directory when a segment was created
 * or deleted; `synced()` says when. A new segment starts when the last one is full or torn. Segments
 * are deleted oldest first once every request they hold is done, and all of them once the queue is
 * empty, never while a sync of theirs is pending or running. At open, the segments found (a crashed
 * process may have left lines in the page cache only) and the directory are synced before anything
 * is replayed; the lines skipped there are counted. Node only: the browser build never imports this
 * file.
 */
import { closeSync, unlinkSync } from 'node:fs';
import { FoglineError } from '@fogline/shared';
import { type DiskSync, NODE_DISK_SYNC, syncDirSync, syncFileSync } from './disk-sync.ts';
import { GroupCommit } from './group-commit.ts';
import { openPrivateDir } from './private-dir.ts';
import { QueueLock } from './queue-lock.ts';
import { type DoneReason, doneLine, putLine, type StoredRequest } from './queue-record.ts';
import { appendLine, createSegment, readSegments, type Segment } from './segment-file.ts';

export type { DoneReason, StoredRequest } from './queue-record.ts';

export interface FileQueueOptions {
  dir: string;
  /** Most bytes of segment files; a request that would pass it is refused (RESOURCE_EXHAUSTED). */
  maxBytes: number;
  /** A new segment starts once the current one holds this many bytes. Default maxBytes / 8, ≥ 4 KiB. */
  segmentBytes?: number;
  /** Wall clock (ms since the epoch). Default Date.now. */
  now?: () => number;
  /** fdatasync and fsync, async and sync (open, close); default node:fs. */
  disk?: DiskSync;
}

export class FileQueue {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #segmentBytes: number;
  readonly #now: () => number;
  readonly #lock: QueueLock;
  readonly #segments: Segment[] = [];
  /** Not done yet, in the order they were put. */
  readonly #pending = new Map<string, StoredRequest>();
  readonly #segmentOf = new Map<string, Segment>();
  readonly #commit: GroupCommit;
  #closed = false;
  /** Lines of the files found at open that were torn or did not parse (skipped). */
  readonly skippedLines: number;

  constructor(options: FileQueueOptions) {
    this.dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.#segmentBytes = options.segmentBytes ?? Math.max(4_096, Math.floor(options.maxBytes / 8));
    this.#now = options.now ?? Date.now;
    const disk = options.disk ?? NODE_DISK_SYNC;
    this.#commit = new GroupCommit(disk, options.dir, () => this.#afterSync());
    const parents = openPrivateDir(options.dir);
    this.#lock = QueueLock.take(options.dir);
    try {
      this.skippedLines = this.#load();
      // What a crashed process left may be in the page cache only: durable before anything is sent.
      for (const s of this.#segments) syncFileSync(disk, s.path);
      for (const d of [options.dir, ...parents]) syncDirSync(disk, d);
      this.#reclaim();
    } catch (err) {
      this.#lock.release();
      throw err;
    }
  }

  /** Requests not yet done, oldest first (a live view: do not complete while iterating). */
  pending(): IterableIterator<StoredRequest> {
    return this.#pending.values();
  }

  get size(): number {
    return this.#pending.size;
  }

  /** Bytes of segment files on disk. */
  get bytes(): number {
    let n = 0;
    for (const s of this.#segments) n += s.bytes;
    return n;
  }

  has(id: string): boolean {
    return this.#pending.has(id);
  }

  /**
   * Resolves once every line written so far (by append, complete, expire) is on disk; rejects with
   * the fdatasync's error (EIO, ENOSPC, …) when the batch that held them failed.
   */
  synced(): Promise<void> {
    return this.#commit.synced();
  }

  /**
   * Stores a request: its line is written now, durable once `synced()` resolves. RESOURCE_EXHAUSTED
   * (nothing written) when it would pass maxBytes; a write error is thrown (nothing stored).
   */
  append(request: StoredRequest): void {
    this.#open();
    if (this.#pending.has(request.id)) {
      throw new FoglineError('INVALID_ARG', `request ${request.id} is already in the durable queue`);
    }
    const line = putLine(request);
    const size = Buffer.byteLength(line);
    if (this.bytes + size > this.maxBytes) {
      throw new FoglineError(
        'RESOURCE_EXHAUSTED',
        `durable queue ${this.dir} is full: ${this.bytes} of ${this.maxBytes} bytes hold ` +
          `${this.#pending.size} requests; request ${request.id} (${size} bytes) refused`,
        { details: { maxBytes: this.maxBytes, bytes: this.bytes, queued: this.#pending.size } },
      );
    }
    const segment = this.#write(line);
    segment.live.add(request.id);
    this.#pending.set(request.id, request);
    this.#segmentOf.set(request.id, segment);
  }

  /**
   * Marks a request done: its line is written now (durable once `synced()` resolves) and it is no
   * longer pending; false when it was not pending. A write error is thrown, the request still pending.
   */
  complete(id: string, why: DoneReason): boolean {
    this.#open();
    if (!this.#pending.has(id)) return false;
    this.#write(doneLine(id, why));
    this.#forget(id);
    this.#reclaim();
    return true;
  }

  /**
   * Marks the requests past their expiry done, oldest first, and returns them. A line that cannot be
   * written stops it: `error` is the write's, and the requests not yet marked stay pending.
   */
  expire(): { expired: StoredRequest[]; error?: Error } {
    const now = this.#now();
    const expired: StoredRequest[] = [];
    for (const r of [...this.#pending.values()]) {
      if (r.expiresAt > now) continue;
      try {
        this.complete(r.id, 'expired');
      } catch (err) {
        return { expired, error: err as Error };
      }
      expired.push(r);
    }
    return { expired };
  }

  /**
   * Syncs the lines not yet synced (one fdatasync per file, on the event loop: the only one), closes
   * the files and releases the directory; pending requests stay on disk for the next start. A file
   * with a sync still running on libuv's pool is closed when it ends.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#commit.flushSync();
      this.#closeIdle();
    } finally {
      this.#lock.release();
    }
  }

  #open(): void {
    if (this.#closed) throw new FoglineError('UNAVAILABLE', `durable queue ${this.dir} is closed`);
  }

  #forget(id: string): void {
    this.#pending.delete(id);
    this.#segmentOf.get(id)?.live.delete(id);
    this.#segmentOf.delete(id);
  }

  /**
   * Appends one line to the last segment (a new one when it is full or torn; the old one is closed
   * once its lines are synced, the new one's entry synced with them) and hands it to the group commit.
   * A short write is continued; when the rest cannot be written the error is thrown and the segment,
   * its last line torn, takes no more lines (one appended to the torn part would not parse either).
   */
  #write(line: string): Segment {
    let segment = this.#segments.at(-1);
    if (segment?.fd === undefined || segment.torn === true || segment.bytes >= this.#segmentBytes) {
      segment = createSegment(this.dir, (segment?.seq ?? 0) + 1);
      this.#segments.push(segment);
      this.#commit.changedDir();
      this.#closeIdle();
    }
    appendLine(segment, line);
    this.#commit.wrote(segment.fd!);
    return segment;
  }

  /**
   * After each sync: full segments whose last lines are now synced are closed, and space reclaimed.
   * On libuv's callback, so a failed close is not thrown.
   */
  #afterSync(): void {
    try {
      this.#closeIdle();
    } catch {
      // e.g. the directory removed under us: nothing of the queue's state is lost meanwhile.
    }
    if (!this.#closed) this.#reclaim();
  }

  /** Closes the files no longer written to (all of them once closed) that no sync needs any more. */
  #closeIdle(): void {
    const last = this.#segments.at(-1);
    for (const s of this.#segments) {
      const fd = s.fd;
      if (fd === undefined || (s === last && !this.#closed) || this.#commit.busy(fd)) continue;
      s.fd = undefined; // closed even when close reports an error
      closeSync(fd);
    }
  }

  /**
   * Deletes segments from the oldest while all their requests are done (a `done` line is always in
   * the segment of its `put` or a later one, so a deleted segment's lines are never needed again); the
   * directory is synced with the next batch. A segment with a sync pending or running waits for the
   * end of that sync (#afterSync). A failed close or unlink is not thrown (the request that let the
   * segment go is done all the same): the file stays, tried again after the next sync.
   */
  #reclaim(): void {
    const empty = this.#pending.size === 0;
    try {
      while (this.#segments.length > 0) {
        const first = this.#segments[0]!;
        if (!empty && first.live.size > 0) break;
        const last = this.#segments.length === 1;
        if (last && !empty) break; // the segment being written to keeps going
        const fd = first.fd;
        if (fd !== undefined) {
          if (this.#commit.busy(fd)) break;
          first.fd = undefined; // closed even when close reports an error
          closeSync(fd);
        }
        unlinkSync(first.path);
        this.#segments.shift();
        this.#commit.changedDir();
      }
    } catch {
      // e.g. the directory removed under us: nothing of the queue's state is lost meanwhile.
    }
  }

  /** Reads the segments found on disk, in order; returns how many lines were skipped. */
  #load(): number {
    let skipped = 0;
    for (const read of readSegments(this.dir)) {
      const { segment } = read;
      this.#segments.push(segment);
      skipped += read.skipped;
      for (const record of read.records) {
        if (record.t === 'done') this.#forget(record.id);
        else if (!this.#pending.has(record.request.id)) {
          this.#pending.set(record.request.id, record.request);
          this.#segmentOf.set(record.request.id, segment);
          segment.live.add(record.request.id);
        }
      }
    }
    return skipped;
  }
}

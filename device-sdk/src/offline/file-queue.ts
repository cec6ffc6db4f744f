/**
 * The device's durable request queue on disk (docs/device-sdk.md "Offline: the durable store"): an
 * append-only log of JSON lines in segment files `seg-<n>.log` under one directory (0700, files
 * 0600). A `put` line holds a request (id, expiry, encoded fabric request); a `done` line says it
 * was answered, expired or failed. Each line is written (to the page cache) before `append`/`complete`
 * return, and made durable by a group commit (./group-commit.ts): one fdatasync per batch, off the
 * event loop, with an fsync of the directory when a segment was created or deleted; `synced()` says
 * when. Segments are deleted oldest first once every request they hold is done, and all of them once
 * the queue is empty, never while a sync of theirs is pending or running. At open, the segments found
 * (a crashed process may have left lines in the page cache only) and the directory are synced before
 * anything is replayed. A torn last line (a crash mid-write, or a write cut short) or a line that
 * does not parse is skipped and counted. Node only: the browser build never imports this file.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { type DiskSync, NODE_DISK_SYNC, syncDirSync, syncFileSync } from './disk-sync.ts';
import { GroupCommit } from './group-commit.ts';
import { QueueLock } from './queue-lock.ts';

export interface StoredRequest {
  readonly id: string;
  /** Wall-clock ms (Date.now) after which the request is dropped unanswered. */
  readonly expiresAt: number;
  /** Latency budget the edge gets for each attempt, ms (already encoded in `payload`). */
  readonly budgetMs: number;
  /** The encoded fabric request, sent as is. */
  readonly payload: Uint8Array;
}

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

/** Why a request left the queue: answered, expired, or its `put` line failed to sync (its call failed). */
export type DoneReason = 'answered' | 'expired' | 'failed';

interface Segment {
  readonly seq: number;
  readonly path: string;
  bytes: number;
  /** Requests put in this segment and not done yet. */
  readonly live: Set<string>;
  /** Open while it is the segment written to, or until its last lines are synced. */
  fd?: number;
  /** A line was cut short in it: it stays the last (skipped at open), the next line goes to a new segment. */
  torn?: boolean;
}

const SEGMENT = /^seg-(\d{1,12})\.log$/;

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
    const line = `${JSON.stringify({
      t: 'put',
      id: request.id,
      exp: request.expiresAt,
      budget: request.budgetMs,
      p: Buffer.from(request.payload).toString('base64'),
    })}\n`;
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
    this.#write(`${JSON.stringify({ t: 'done', id, why })}\n`);
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
      const seq = (segment?.seq ?? 0) + 1;
      const path = join(this.dir, `seg-${String(seq).padStart(12, '0')}.log`);
      const fd = openSync(path, 'a', 0o600);
      segment = { seq, path, bytes: 0, live: new Set(), fd };
      this.#segments.push(segment);
      this.#commit.changedDir();
      this.#closeIdle();
    }
    const fd = segment.fd!;
    const bytes = Buffer.from(line);
    let written = 0;
    try {
      while (written < bytes.length) {
        const n = writeSync(fd, bytes, written);
        if (n <= 0)
          throw Object.assign(new Error(`EIO: no progress writing ${segment.path}`), { code: 'EIO' });
        written += n;
      }
    } finally {
      segment.bytes += written;
      if (written > 0 && written < bytes.length) segment.torn = true;
    }
    this.#commit.wrote(fd);
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
    const found = readdirSync(this.dir)
      .map((name) => ({ name, m: SEGMENT.exec(name) }))
      .filter((f) => f.m !== null)
      .map((f) => ({ name: f.name, seq: Number(f.m![1]) }))
      .sort((a, b) => a.seq - b.seq);
    let skipped = 0;
    for (const { name, seq } of found) {
      const path = join(this.dir, name);
      const text = readFileSync(path, 'utf8');
      const segment: Segment = { seq, path, bytes: statSync(path).size, live: new Set() };
      this.#segments.push(segment);
      const lines = text.split('\n');
      if (lines.at(-1) !== '') skipped++; // torn last line: no newline
      for (const line of lines.slice(0, -1)) {
        const record = parseLine(line);
        if (record === undefined) skipped++;
        else if (record.t === 'done') this.#forget(record.id);
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

type Line = { t: 'done'; id: string } | { t: 'put'; request: StoredRequest };

/** One line of a segment file, checked field by field; undefined when it is not a valid record. */
function parseLine(line: string): Line | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id.length === 0) return undefined;
  if (r.t === 'done') return { t: 'done', id: r.id };
  if (r.t !== 'put' || typeof r.p !== 'string') return undefined;
  if (!Number.isFinite(r.exp) || !Number.isFinite(r.budget) || (r.budget as number) <= 0) return undefined;
  const payload = new Uint8Array(Buffer.from(r.p, 'base64'));
  if (payload.length === 0) return undefined;
  return {
    t: 'put',
    request: { id: r.id, expiresAt: r.exp as number, budgetMs: r.budget as number, payload },
  };
}

/**
 * Creates `dir` 0700; refuses one that group or others can reach (it holds the device's inputs).
 * Returns the directories that got a new entry (the parent of each directory created), to be synced.
 */
function openPrivateDir(dir: string): string[] {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  const parents: string[] = [];
  for (let d = resolve(dir); created !== undefined && d !== dirname(d); d = dirname(d)) {
    parents.push(dirname(d));
    if (d === resolve(created)) break;
  }
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new FoglineError(
      'PERMISSION_DENIED',
      `durable queue directory ${dir} is accessible to group or others (mode ${mode.toString(8)}): chmod 700 it`,
    );
  }
  return parents;
}

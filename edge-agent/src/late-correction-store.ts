/**
 * The edge's store of late corrections (docs/edge-agent.md "Late corrections"): the answers it gave
 * `degraded` while the cloud was unreachable, kept until the cloud has answered them, and the
 * corrections that came of them, kept until their TTL for the devices to fetch.
 *
 * On disk: `<data-dir>/late-corrections/<seq>.log`, append-only segments of JSON lines (0600 in a
 * 0700 directory), written in order, so a restart replays them into the same state:
 *   {"k":"a", ...}  a degraded answer (request id, device id, the request as the device sent it —
 *                   its input tensor — base64, the degraded answer) waiting for the cloud;
 *   {"k":"c", ...}  the cloud answered another class: the correction (it also settles its "a");
 *   {"k":"d", ...}  the cloud agreed, or can never answer it: settled, nothing to send.
 * Bounded: every record expires `ttlMs` after its answer was given and is then forgotten; segments
 * are reclaimed from the oldest on, once nothing in them is live, so the bytes on disk never exceed
 * `maxBytes` (the oldest segment is dropped, its records with it, when a new record would not fit).
 * A torn last line (a crash mid-write) is skipped on replay. Segments are opened without following a
 * link (new ones created with O_EXCL; @fogline/shared/storage own-file.ts): a link or anything but a
 * file in place of one is skipped at open with a warning naming it (the edge starts; it is left
 * where it is), one planted where the next segment goes fails that write; nothing is read or written
 * through it.
 */
import { type FileHandle, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Correction, type CorrectionAnswer, FoglineError } from '@fogline/shared';
import {
  APPEND_NEW_FILE,
  mkdirPrivate,
  type NotOwnFile,
  type OwnFileText,
  PRIVATE_FILE_MODE,
  readOwnFile,
} from '@fogline/shared/storage';

/** A degraded answer waiting for the cloud. */
export interface DegradedAnswer {
  readonly requestId: string;
  readonly device: string;
  /** When it was answered, ms since the epoch; it expires at `time + ttlMs`. */
  readonly time: number;
  /** The request as the device sent it (encoded fabric request: its one input tensor). */
  readonly request: Uint8Array;
  readonly answer: CorrectionAnswer;
}

export interface LateCorrectionStoreOptions {
  /** The store's own directory (created 0700). */
  readonly dir: string;
  readonly maxBytes: number;
  readonly ttlMs: number;
  /** Wall clock, ms since the epoch (records outlive the process). Default Date.now. */
  readonly now?: () => number;
  /** The corrections of these devices changed (added, expired or dropped). */
  readonly onCorrectionsChanged?: (devices: ReadonlySet<string>) => void;
  readonly warn?: (message: string) => void;
}

export interface LateCorrectionCounts {
  /** Degraded answers waiting for the cloud, and corrections waiting for their TTL. */
  readonly pending: number;
  readonly corrections: number;
  /** Bytes on disk. */
  readonly bytes: number;
  /** Records lost to the byte cap, and records larger than a segment (never stored). */
  readonly droppedFull: number;
  readonly droppedTooLarge: number;
  /** Answers not kept because the disk was behind by `MAX_QUEUED_WRITES` records. */
  readonly droppedBusy: number;
}

/** Writes waiting for the disk at most; past it new answers are not kept (memory stays bounded). */
export const MAX_QUEUED_WRITES = 1024;

interface Segment {
  readonly seq: number;
  readonly file: string;
  bytes: number;
  /** Live records written in it ("a" not settled, "c" not expired). */
  live: number;
}

interface ActiveSegment {
  readonly segment: Segment;
  readonly handle: FileHandle;
}

type Live<T> = { readonly value: T; readonly segment: Segment; readonly expires: number };

export type StoredCorrection = Correction & { readonly device: string };

const key = (device: string, requestId: string) => `${device}\u0000${requestId}`;

export class LateCorrectionStore {
  readonly #o: LateCorrectionStoreOptions;
  readonly #now: () => number;
  readonly #segmentBytes: number;
  readonly #segments: Segment[] = [];
  readonly #pending = new Map<string, Live<DegradedAnswer>>();
  readonly #corrections = new Map<string, Live<StoredCorrection>>();
  #active: ActiveSegment | undefined;
  #writes: Promise<unknown> = Promise.resolve();
  #nextSeq = 1;
  #droppedFull = 0;
  #droppedTooLarge = 0;
  #droppedBusy = 0;
  #queuedWrites = 0;
  #closed = false;

  private constructor(options: LateCorrectionStoreOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    // Four segments or more under the cap, so dropping the oldest frees room in small steps.
    this.#segmentBytes = Math.max(1024, Math.floor(options.maxBytes / 4));
  }

  static async open(options: LateCorrectionStoreOptions): Promise<LateCorrectionStore> {
    if (!(options.maxBytes >= 4096) || !(options.ttlMs >= 1)) {
      throw new FoglineError('INVALID_ARG', 'late corrections: maxBytes must be ≥ 4096 and ttlMs ≥ 1');
    }
    const store = new LateCorrectionStore(options);
    await mkdirPrivate(options.dir);
    await store.#replay();
    return store;
  }

  counts(): LateCorrectionCounts {
    return {
      pending: this.#pending.size,
      corrections: this.#corrections.size,
      bytes: this.#segments.reduce((sum, s) => sum + s.bytes, 0),
      droppedFull: this.#droppedFull,
      droppedTooLarge: this.#droppedTooLarge,
      droppedBusy: this.#droppedBusy,
    };
  }

  /** Degraded answers still waiting for the cloud, oldest first. */
  waiting(limit: number): DegradedAnswer[] {
    const out: DegradedAnswer[] = [];
    const now = this.#now();
    for (const live of this.#pending.values()) {
      if (out.length >= limit) break;
      if (live.expires > now) out.push(live.value);
    }
    return out;
  }

  /** The live corrections of `device`, newest first. */
  correctionsOf(device: string): StoredCorrection[] {
    const now = this.#now();
    const out: StoredCorrection[] = [];
    for (const live of this.#corrections.values()) {
      if (live.value.device === device && live.expires > now) out.push(live.value);
    }
    return out.reverse();
  }

  /** Devices with at least one live correction. */
  devicesWithCorrections(): Set<string> {
    return new Set([...this.#corrections.values()].map((l) => l.value.device));
  }

  /** Keeps a degraded answer; false when the store is closed, it already has it, or it cannot fit. */
  async add(answer: DegradedAnswer): Promise<boolean> {
    const k = key(answer.device, answer.requestId);
    if (this.#closed || this.#pending.has(k) || this.#corrections.has(k)) return false;
    const expires = answer.time + this.#o.ttlMs;
    if (expires <= this.#now()) return false;
    if (this.#queuedWrites >= MAX_QUEUED_WRITES) {
      this.#droppedBusy++;
      return false;
    }
    const line = {
      k: 'a',
      id: answer.requestId,
      device: answer.device,
      time: answer.time,
      request: Buffer.from(answer.request).toString('base64'),
      answer: answer.answer,
    };
    const segment = await this.#append(line);
    if (!segment) return false;
    this.#pending.set(k, { value: answer, segment, expires });
    segment.live++;
    return true;
  }

  /** Settles a waiting answer: with the correction to send, or none (the cloud agreed). */
  async settle(answer: DegradedAnswer, correction?: Correction): Promise<void> {
    const k = key(answer.device, answer.requestId);
    const live = this.#pending.get(k);
    if (!live || this.#closed) return;
    this.#pending.delete(k);
    live.segment.live--;
    if (correction) {
      const stored: StoredCorrection = { ...correction, device: answer.device };
      const { requestId: id, device, time, expires, old } = stored;
      const segment = await this.#append({ k: 'c', id, device, time, expires, old, new: stored.new });
      if (segment) {
        this.#corrections.set(k, { value: stored, segment, expires: correction.expires });
        segment.live++;
        this.#o.onCorrectionsChanged?.(new Set([answer.device]));
      }
    } else await this.#append({ k: 'd', id: answer.requestId, device: answer.device });
    await this.#reclaim();
  }

  /** Forgets everything past its TTL and reclaims the segments left with nothing live. */
  async sweep(): Promise<void> {
    const now = this.#now();
    for (const [k, live] of this.#pending) {
      if (live.expires > now) continue;
      this.#pending.delete(k);
      live.segment.live--;
    }
    const changed = new Set<string>();
    for (const [k, live] of this.#corrections) {
      if (live.expires > now) continue;
      this.#corrections.delete(k);
      live.segment.live--;
      changed.add(live.value.device);
    }
    if (changed.size > 0) this.#o.onCorrectionsChanged?.(changed);
    await this.#reclaim();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#writes.catch(() => {});
    await this.#active?.handle.close().catch(() => {});
    this.#active = undefined;
  }

  /** Appends one record (serialised); undefined when it was not written. */
  async #append(record: Record<string, unknown>): Promise<Segment | undefined> {
    const bytes = Buffer.from(`${JSON.stringify(record)}\n`);
    if (bytes.length > this.#segmentBytes) {
      this.#droppedTooLarge++;
      return undefined;
    }
    this.#queuedWrites++;
    const write = this.#writes.then(async () => {
      this.#queuedWrites--;
      if (this.#closed) return undefined;
      if (this.#active && this.#active.segment.bytes + bytes.length > this.#segmentBytes) {
        await this.#rotate();
      }
      // Make room under the cap: the oldest segment goes first, its live records with it.
      while (this.#total() + bytes.length > this.#o.maxBytes && this.#segments.length > 0) {
        await this.#dropOldest();
      }
      const active = this.#active ?? (await this.#openSegment());
      await active.handle.write(bytes);
      active.segment.bytes += bytes.length;
      return active.segment;
    });
    this.#writes = write.catch((err: unknown) => this.#o.warn?.(`late corrections: ${String(err)}`));
    return write.catch(() => undefined);
  }

  #total(): number {
    return this.#segments.reduce((sum, s) => sum + s.bytes, 0);
  }

  async #openSegment(): Promise<ActiveSegment> {
    const seq = this.#nextSeq++;
    const file = join(this.#o.dir, `${String(seq).padStart(12, '0')}.log`);
    const handle = await open(file, APPEND_NEW_FILE, PRIVATE_FILE_MODE);
    const segment: Segment = { seq, file, bytes: 0, live: 0 };
    this.#segments.push(segment);
    this.#active = { segment, handle };
    return this.#active;
  }

  async #rotate(): Promise<void> {
    await this.#active?.handle.close();
    this.#active = undefined;
  }

  async #dropOldest(): Promise<void> {
    const oldest = this.#segments[0];
    if (!oldest) return;
    if (this.#active?.segment === oldest) await this.#rotate();
    this.#segments.shift();
    const changed = new Set<string>();
    for (const [k, live] of this.#pending) if (live.segment === oldest) this.#pending.delete(k);
    for (const [k, live] of this.#corrections) {
      if (live.segment !== oldest) continue;
      this.#corrections.delete(k);
      changed.add(live.value.device);
    }
    this.#droppedFull += oldest.live;
    await rm(oldest.file, { force: true });
    if (changed.size > 0) this.#o.onCorrectionsChanged?.(changed);
  }

  /** Removes the oldest segments while nothing in them is live (the active one too, when empty). */
  async #reclaim(): Promise<void> {
    const reclaimed = this.#writes.then(async () => {
      while (this.#segments[0] && this.#segments[0].live <= 0) {
        const oldest = this.#segments[0];
        if (this.#active?.segment === oldest) await this.#rotate();
        this.#segments.shift();
        await rm(oldest.file, { force: true });
      }
    });
    this.#writes = reclaimed.catch((err: unknown) => this.#o.warn?.(`late corrections: ${String(err)}`));
    await this.#writes;
  }

  async #replay(): Promise<void> {
    const names = (await readdir(this.#o.dir)).filter((n) => /^\d{12}\.log$/.test(n)).sort();
    const now = this.#now();
    for (const name of names) {
      const seq = Number(name.slice(0, 12));
      this.#nextSeq = Math.max(this.#nextSeq, seq + 1);
      const file = join(this.#o.dir, name);
      const read = await readSegment(file, this.#o.warn);
      if (read === undefined) continue;
      const { text, bytes } = read;
      const segment: Segment = { seq, file, bytes, live: 0 };
      this.#segments.push(segment);
      for (const line of text.split('\n')) {
        if (line !== '') this.#replayLine(line, segment, now);
      }
    }
    // New records go to a new segment: never after a possibly torn last line.
    await this.#reclaim();
  }

  #replayLine(line: string, segment: Segment, now: number): void {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.#o.warn?.(`late corrections: skipped an unreadable line in ${segment.file}`);
      return;
    }
    const { k: kind, id, device, time } = r;
    if (typeof id !== 'string' || typeof device !== 'string') return;
    const k = key(device, id);
    const pending = this.#pending.get(k);
    if (kind !== 'a' && pending) {
      this.#pending.delete(k);
      pending.segment.live--;
    }
    if (kind === 'a' && typeof time === 'number' && typeof r.request === 'string') {
      const expires = time + this.#o.ttlMs;
      if (expires <= now || this.#corrections.has(k)) return;
      const request = new Uint8Array(Buffer.from(r.request, 'base64'));
      const value = { requestId: id, device, time, request, answer: r.answer as CorrectionAnswer };
      this.#pending.set(k, { value, segment, expires });
      segment.live++;
    } else if (kind === 'c' && typeof time === 'number' && typeof r.expires === 'number' && r.expires > now) {
      const [old, answer] = [r.old as CorrectionAnswer, r.new as CorrectionAnswer];
      const value = { requestId: id, device, time, expires: r.expires, old, new: answer };
      this.#corrections.set(k, { value, segment, expires: r.expires });
      segment.live++;
    }
  }
}

/**
 * A segment's text; undefined for a link or anything but a file in its place (planted, or left by
 * hand), which is skipped with a warning naming it: never read through, never deleted (not ours).
 */
async function readSegment(file: string, warn?: (message: string) => void): Promise<OwnFileText | undefined> {
  let refused: NotOwnFile | undefined;
  try {
    return await readOwnFile(file, (what, cause) => {
      refused = what;
      return new FoglineError('INVALID_ARG', `${file} is ${what}`, { cause });
    });
  } catch (err) {
    if (refused === undefined) throw err;
    warn?.(
      `late corrections: ${file} is ${refused}, not a segment the edge wrote: skipped, not read (late-corrections/ holds the store's own files only: remove it)`,
    );
    return undefined;
  }
}

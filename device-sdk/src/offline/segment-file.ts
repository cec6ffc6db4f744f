/**
 * One segment file of the durable queue (docs/device-sdk.md "Offline: the durable store"):
 * `seg-<n>.log` (n zero-padded to 12 digits, so names sort as numbers), created 0600 and only ever
 * appended to, one record per line (./queue-record.ts). A line is written whole: a short write is
 * continued, and when the rest cannot be written the error is thrown and the segment is torn (its
 * last line cut short: it takes no more lines). Read back at open, a last line without its newline
 * (a crash mid-write, or a write cut short) and a line that is no record are skipped and counted.
 * Which segment a line goes to, and when one is closed or deleted, is the queue's (./file-queue.ts).
 * A segment is opened without following a link (O_NOFOLLOW; created with O_EXCL; @fogline/shared/storage
 * own-file.ts): a link planted in place of one is refused (INVALID_ARG at open, a write error when
 * created), never written through.
 */
import { openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import {
  APPEND_NEW_FILE,
  type NotOwnFile,
  PRIVATE_FILE_MODE,
  readOwnFileSync,
} from '@fogline/shared/storage';
import { parseLine, type QueueRecord } from './queue-record.ts';

export interface Segment {
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

/** Creates segment `seq` in `dir` (0600), open for appending; a file already there is an error. */
export function createSegment(dir: string, seq: number): Segment {
  const path = join(dir, `seg-${String(seq).padStart(12, '0')}.log`);
  const fd = openSync(path, APPEND_NEW_FILE, PRIVATE_FILE_MODE);
  return { seq, path, bytes: 0, live: new Set(), fd };
}

/**
 * Appends `line` to `segment`, open (to the page cache: durable once its fd is synced). A short
 * write is continued; when the rest cannot be written the error is thrown and the segment is torn.
 */
export function appendLine(segment: Segment, line: string): void {
  const fd = segment.fd!;
  const bytes = Buffer.from(line);
  let written = 0;
  try {
    while (written < bytes.length) {
      const n = writeSync(fd, bytes, written);
      if (n <= 0) throw Object.assign(new Error(`EIO: no progress writing ${segment.path}`), { code: 'EIO' });
      written += n;
    }
  } finally {
    segment.bytes += written;
    if (written > 0 && written < bytes.length) segment.torn = true;
  }
}

/** A segment found on disk (closed), with its records in order and how many lines were skipped. */
export interface ReadSegment {
  readonly segment: Segment;
  readonly records: QueueRecord[];
  readonly skipped: number;
}

/** Reads the segment files found in `dir`, oldest first, one at a time (as the caller iterates). */
export function* readSegments(dir: string): Generator<ReadSegment> {
  const found = readdirSync(dir)
    .map((name) => ({ name, m: SEGMENT.exec(name) }))
    .filter((f) => f.m !== null)
    .map((f) => ({ name: f.name, seq: Number(f.m![1]) }))
    .sort((a, b) => a.seq - b.seq);
  for (const { name, seq } of found) {
    const path = join(dir, name);
    const { text, bytes } = readOwnFileSync(path, (what, cause) => notASegment(path, what, cause));
    const segment: Segment = { seq, path, bytes, live: new Set() };
    const lines = text.split('\n');
    let skipped = lines.at(-1) === '' ? 0 : 1; // torn last line: no newline
    const records: QueueRecord[] = [];
    for (const line of lines.slice(0, -1)) {
      const record = parseLine(line);
      if (record === undefined) skipped++;
      else records.push(record);
    }
    yield { segment, records, skipped };
  }
}

function notASegment(path: string, what: NotOwnFile, cause?: unknown): FoglineError {
  return new FoglineError(
    'INVALID_ARG',
    `durable queue file ${path} is ${what}, not a segment the queue wrote: remove it (offline.dir holds the queue's own files only)`,
    { details: { field: 'offline.dir', file: path }, ...(cause !== undefined && { cause }) },
  );
}

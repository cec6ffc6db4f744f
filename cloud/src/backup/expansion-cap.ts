/**
 * How far a restore lets an archive expand (docs/scale-out.md "Backup and restore"): a crafted
 * `.tar.gz` of a few MB can inflate to terabytes and fill the disk. The cap is on the bytes the
 * archive actually inflates to, counted as they stream out of gunzip, not on the sizes its headers
 * declare; tar writes nothing it has not read from that stream, so the files restored are bounded
 * by it too.
 */
import { Transform, type TransformCallback } from 'node:stream';

const MiB = 2 ** 20;
/** The default cap is this many times the archive's own size… */
export const DEFAULT_EXPANSION_RATIO = 32;
/** …and never below this (a fresh PGlite database is ~40 MB that gzip takes to ~5 MB). */
export const DEFAULT_MIN_EXPANDED_BYTES = 1024 * MiB;

/** The default cap for an archive of `archiveBytes`: 32× its size, at least 1 GiB. */
export function defaultMaxExpandedBytes(archiveBytes: number): number {
  return Math.max(DEFAULT_MIN_EXPANDED_BYTES, DEFAULT_EXPANSION_RATIO * archiveBytes);
}

/** `bytes` in MiB as a message shows it (whole MiB, rounded down; at least one decimal below 1). */
export function shownMiB(bytes: number): string {
  return bytes >= MiB ? `${Math.floor(bytes / MiB)} MiB` : `${(bytes / MiB).toFixed(2)} MiB`;
}

/** Thrown through the stream when the cap is passed: the restore turns it into its refusal. */
export class ExpansionCapExceeded extends Error {
  constructor(readonly maxBytes: number) {
    super(`expands past ${maxBytes} bytes`);
  }
}

/** A pass-through that counts the bytes through it and fails once they pass `maxBytes`. */
export class ExpansionCap extends Transform {
  #bytes = 0;

  constructor(readonly maxBytes: number) {
    super();
  }

  /** Bytes passed through so far. */
  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.maxBytes) done(new ExpansionCapExceeded(this.maxBytes));
    else done(null, chunk);
  }
}

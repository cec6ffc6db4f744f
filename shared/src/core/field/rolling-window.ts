/**
 * The recent records a field measure is taken over (docs/field-accuracy.md): at most `maxCount`,
 * none older than `maxAgeMs`, by the injected clock. Records are stamped when pushed; the oldest go
 * first, whichever bound they cross. `clear()` restarts the window (after a drift alarm).
 */
import { type Clock, systemClock } from '../clock.ts';
import { FoglineError } from '../errors.ts';

export interface RollingWindowOptions {
  readonly maxCount: number;
  readonly maxAgeMs: number;
  readonly clock?: Clock;
}

export interface Stamped<T> {
  readonly atMs: number;
  readonly record: T;
}

export class RollingWindow<T> {
  readonly maxCount: number;
  readonly maxAgeMs: number;
  readonly #clock: Clock;
  /** Oldest first; entries before #start are evicted and wait for compaction. */
  #entries: Stamped<T>[] = [];
  #start = 0;

  constructor(options: RollingWindowOptions) {
    const { maxCount, maxAgeMs } = options;
    if (!Number.isInteger(maxCount) || maxCount < 1) {
      throw new FoglineError(
        'INVALID_ARG',
        `RollingWindow: maxCount must be an integer >= 1, got ${maxCount}`,
      );
    }
    if (!(maxAgeMs > 0)) {
      throw new FoglineError('INVALID_ARG', `RollingWindow: maxAgeMs must be > 0, got ${maxAgeMs}`);
    }
    this.maxCount = maxCount;
    this.maxAgeMs = maxAgeMs;
    this.#clock = options.clock ?? systemClock;
  }

  push(record: T): void {
    this.#entries.push({ atMs: this.#clock.now(), record });
    this.#evict();
  }

  /** The records in the window now, oldest first. */
  records(): T[] {
    return this.entries().map((e) => e.record);
  }

  /** The records with the time each was pushed, oldest first. */
  entries(): Stamped<T>[] {
    this.#evict();
    return this.#entries.slice(this.#start);
  }

  get size(): number {
    this.#evict();
    return this.#entries.length - this.#start;
  }

  clear(): void {
    this.#entries = [];
    this.#start = 0;
  }

  /** Keeps only the records for which `keep` is true (each with the time it was pushed). */
  retain(keep: (record: T) => boolean): void {
    this.#entries = this.entries().filter((e) => keep(e.record));
    this.#start = 0;
  }

  #evict(): void {
    const oldest = this.#clock.now() - this.maxAgeMs;
    while (this.#start < this.#entries.length) {
      const over = this.#entries.length - this.#start > this.maxCount;
      if (!over && this.#entries[this.#start]!.atMs > oldest) break;
      this.#start++;
    }
    // Compact once the dead prefix outgrows the live part: amortised O(1) per push.
    if (this.#start > 64 && this.#start * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#start);
      this.#start = 0;
    }
  }
}

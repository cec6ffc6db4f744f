/** Time source injected into everything that measures time (token buckets, breakers, batchers). */
import { FoglineError } from './errors.ts';

export interface Clock {
  /** Milliseconds, monotonic where the platform allows. */
  now(): number;
}

/** Monotonic wall-independent clock (`performance.now()`), immune to system time changes. */
export const systemClock: Clock = Object.freeze({ now: () => performance.now() });

/** A clock that only moves when told to, for deterministic tests. */
export class ManualClock implements Clock {
  #now: number;

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new FoglineError(
        'INVALID_ARG',
        `ManualClock.advance: ms must be a finite non-negative number, got ${ms}`,
      );
    }
    this.#now += ms;
  }

  set(ms: number): void {
    if (!Number.isFinite(ms) || ms < this.#now) {
      throw new FoglineError(
        'INVALID_ARG',
        `ManualClock.set: time cannot go backwards (${this.#now} → ${ms})`,
      );
    }
    this.#now = ms;
  }
}

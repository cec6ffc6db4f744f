/**
 * Token bucket (rate, burst): tokens refill continuously at `ratePerSec`, capped at `burst`; each
 * request takes n tokens or is told how long to wait. Used per API key on HTTP and per MQTT client.
 */
import { type Clock, systemClock } from './clock.ts';
import { FoglineError } from './errors.ts';

export interface TokenBucketOptions {
  /** Tokens added per second; > 0 (fractional allowed, e.g. 0.5 = one every 2 s). */
  ratePerSec: number;
  /** Bucket capacity, and the number of tokens at start; ≥ 1. */
  burst: number;
  clock?: Clock;
}

const EPSILON = 1e-9;

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBucket {
  readonly ratePerSec: number;
  readonly burst: number;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;

  constructor(options: TokenBucketOptions) {
    const { ratePerSec, burst } = options;
    if (typeof ratePerSec !== 'number' || !Number.isFinite(ratePerSec) || ratePerSec <= 0) {
      throw new FoglineError(
        'INVALID_ARG',
        `token bucket: ratePerSec must be a finite number > 0, got ${ratePerSec}`,
      );
    }
    if (typeof burst !== 'number' || !Number.isFinite(burst) || burst < 1) {
      throw new FoglineError('INVALID_ARG', `token bucket: burst must be a finite number >= 1, got ${burst}`);
    }
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    this.#clock = options.clock ?? systemClock;
    this.#tokens = burst;
    this.#updatedAt = this.#clock.now();
  }

  /** Tokens available now (fractional). */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /**
   * Takes `n` tokens if available. Otherwise takes nothing and returns the wait until `n` tokens will
   * be there (rounded up to whole ms); n > burst can never succeed and is INVALID_ARG.
   */
  tryTake(n = 1): TakeResult {
    if (!Number.isFinite(n) || n <= 0 || n > this.burst) {
      throw new FoglineError('INVALID_ARG', `token bucket: cannot take ${n} tokens (burst is ${this.burst})`);
    }
    this.#refill();
    // The epsilon absorbs float error, so waiting exactly retryAfterMs always succeeds.
    if (this.#tokens >= n - EPSILON) {
      this.#tokens = Math.max(0, this.#tokens - n);
      return { ok: true };
    }
    const retryAfterMs = Math.max(1, Math.ceil(((n - this.#tokens) * 1000) / this.ratePerSec));
    return { ok: false, retryAfterMs };
  }

  /** Returns `n` tokens taken earlier (capped at the burst): for a take that turned out not to count. */
  putBack(n = 1): void {
    this.#refill();
    this.#tokens = Math.min(this.burst, this.#tokens + Math.max(0, n));
  }

  #refill(): void {
    const now = this.#clock.now();
    // A clock that steps backwards must not drain the bucket.
    const elapsedMs = Math.max(0, now - this.#updatedAt);
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsedMs * this.ratePerSec) / 1000);
    this.#updatedAt = Math.max(now, this.#updatedAt);
  }
}

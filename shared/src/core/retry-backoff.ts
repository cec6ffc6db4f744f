/**
 * Exponential backoff, the one home of its waits ("Exponential Backoff And Jitter", AWS Architecture
 * Blog, 2015): retry n (0-based) has the ceiling min(maxDelayMs, initialDelayMs × 2^n).
 * - Full jitter, a uniform draw in [0, ceiling]: a failed download tried again (docs/edge-agent.md
 *   "Device models", docs/device-sdk.md "Model updates"), through `RetryBackoff`: one retry pending
 *   at a time; a later `schedule` or `cancel` drops it; its timer is unref'd where the platform has
 *   unref (Node), so a pending retry never keeps a process alive.
 * - Equal jitter, half the ceiling plus a draw in [0, half]: a device reconnecting to its broker
 *   (never hammering it at once).
 * - No jitter, the ceiling itself: an edge's deployment download (deployment/model-download.ts).
 */
import type { FoglineError } from './errors.ts';

export interface BackoffOptions {
  /** The ceiling of the first retry's wait, ms; doubled for each next one. */
  readonly initialDelayMs: number;
  /** The most any wait's ceiling grows to, ms. */
  readonly maxDelayMs: number;
}

/** 1 s doubling to 5 min. */
export const RETRY_BACKOFF_DEFAULTS: BackoffOptions = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 300_000,
});

/** The ceiling of the wait before retry `attempt` (0-based), ms. */
export function backoffCeilingMs(attempt: number, options: BackoffOptions): number {
  return Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.min(attempt, 30));
}

/** The wait before retry `attempt` (0-based), full jitter; `random` in [0, 1). */
export function fullJitterDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  return Math.round(backoffCeilingMs(attempt, options) * random());
}

/** The wait before retry `attempt` (0-based), equal jitter (at least half the ceiling); `random` in [0, 1). */
export function equalJitterDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeilingMs(attempt, options);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * Whether a download that failed this way may succeed if tried again: no answer, a body that broke
 * off, a deadline (UNAVAILABLE, DEADLINE_EXCEEDED), or an HTTP 5xx, 408 or 429. Any other HTTP
 * status (`details.httpStatus`: 401, 403, 404, ...) and any other code (INVALID_ARG: another length
 * or sha256) are final.
 */
export function isTransientFailure(error: FoglineError): boolean {
  if (error.code !== 'UNAVAILABLE' && error.code !== 'DEADLINE_EXCEEDED') return false;
  const status = error.details?.httpStatus;
  return typeof status !== 'number' || status >= 500 || status === 408 || status === 429;
}

/** The retries of one thing: how many so far, and the one pending. */
export class RetryBackoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: BackoffOptions = RETRY_BACKOFF_DEFAULTS, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Retries scheduled since the last `reset`. */
  get attempt(): number {
    return this.#attempt;
  }

  /** Whether a retry is waiting for its time. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** Runs `retry` after the next wait, in place of any pending one; returns the wait, ms. */
  schedule(retry: () => void): number {
    this.cancel();
    const delayMs = fullJitterDelayMs(this.#attempt++, this.#options, this.#random);
    const timer = setTimeout(() => {
      this.#timer = undefined;
      retry();
    }, delayMs);
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
    return delayMs;
  }

  /** Drops the pending retry, if any; the count stays. */
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Drops the pending retry and starts counting again (another thing to download). */
  reset(): void {
    this.cancel();
    this.#attempt = 0;
  }
}

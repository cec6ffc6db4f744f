/**
 * Bounded concurrency for credential checks (docs/security.md "Authentication cost"). Node runs
 * `crypto.scrypt` on libuv's thread pool (4 threads by default, shared with file I/O, zlib and DNS), off
 * the event loop; this bounds how many checks a process runs at once (`maxInFlight`) and how many wait
 * (`maxQueued`). Past both, a check is refused at once with UNAVAILABLE, never queued without bound, so
 * a flood of wrong credentials cannot take every pool thread nor grow a queue of seconds.
 */
import { availableParallelism } from 'node:os';
import { FoglineError } from '../core/errors.ts';

export interface ScryptPoolOptions {
  /**
   * Checks running at once. Default half the cores, at least 1 (and at most 2, half of libuv's default
   * pool): each check keeps a core busy for tens of ms, and the event loop must keep one.
   */
  maxInFlight?: number;
  /** Checks waiting for a slot; past it refused. Default 64. */
  maxQueued?: number;
}

export const SCRYPT_POOL_DEFAULTS = Object.freeze({
  maxInFlight: Math.min(2, Math.max(1, Math.floor(availableParallelism() / 2))),
  maxQueued: 64,
});

export class ScryptPool {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private maxInFlight: number = SCRYPT_POOL_DEFAULTS.maxInFlight;
  private maxQueued: number = SCRYPT_POOL_DEFAULTS.maxQueued;

  constructor(options: ScryptPoolOptions = {}) {
    this.configure(options);
  }

  configure(options: ScryptPoolOptions): void {
    for (const [name, value] of Object.entries(options)) {
      const least = name === 'maxQueued' ? 0 : 1;
      if (value !== undefined && (!Number.isInteger(value) || value < least)) {
        throw new FoglineError(
          'INVALID_ARG',
          `scrypt pool: ${name} must be an integer >= ${least}, got ${value}`,
        );
      }
    }
    this.maxInFlight = options.maxInFlight ?? this.maxInFlight;
    this.maxQueued = options.maxQueued ?? this.maxQueued;
  }

  /** Checks started since the process began (each one scrypt), and refused with a full queue. */
  private started = 0;
  private refused = 0;

  /** Checks running and waiting now; checks started and refused so far. */
  get load(): { inFlight: number; queued: number; started: number; refused: number } {
    return {
      inFlight: this.inFlight,
      queued: this.waiting.length,
      started: this.started,
      refused: this.refused,
    };
  }

  /** Runs `work` when a slot is free; rejects with UNAVAILABLE at once when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.maxInFlight) {
      if (this.waiting.length >= this.maxQueued) {
        this.refused++;
        throw new FoglineError('UNAVAILABLE', 'too many credential checks under way; retry later', {
          details: { retryAfterMs: 1000 },
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.inFlight++;
    }
    this.started++;
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter (inFlight unchanged), else free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.inFlight--;
    }
  }
}

/** The process's pool, used by `verifySecret`; `configure` it at start. */
export const scryptPool = new ScryptPool();

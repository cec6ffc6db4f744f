/**
 * Circuit breaker around calls to another server (docs/design.md "Resilience"), built on opossum: the
 * edge's around the cloud tier (edge-agent/src/cloud-breaker.ts), the cloud's around a model's
 * external OIP backend (cloud/src/serving/remote/). It opens when, in a
 * rolling window, at least `volumeThreshold` calls were made and `errorThresholdPercentage` % of them
 * failed or timed out, or after `consecutiveFailures` failures in a row (a cloud that dies after a
 * busy stretch would otherwise be tried until its failures outweigh the window's earlier successes);
 * while open every call is refused at once (UNAVAILABLE: the edge answers locally, degraded);
 * after `resetTimeoutMs` it lets one probe through (half-open) and closes again if the probe succeeds.
 *
 * The timeout is not opossum's: each call carries its own (the request's remaining budget), enforced
 * by the caller's client, and a call that times out is a failure like any other.
 */

import CircuitBreaker from 'opossum';
import { FoglineError, isFoglineError } from '../core/errors.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CallBreakerOptions {
  /** Failure percentage in the rolling window that opens the breaker. Default 50. */
  readonly errorThresholdPercentage?: number;
  /** Calls needed in the window before it may open. Default 5. */
  readonly volumeThreshold?: number;
  /** Time open before a half-open probe, ms. Default 5000. */
  readonly resetTimeoutMs?: number;
  /** Length of the rolling statistics window, ms. Default 10000. */
  readonly rollingWindowMs?: number;
  /** Calls allowed in flight at once; more are refused like an open breaker. Default 64. */
  readonly capacity?: number;
  /** Failures in a row that open the breaker whatever the window holds. Default 5. */
  readonly consecutiveFailures?: number;
}

export const BREAKER_DEFAULTS = Object.freeze({
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeoutMs: 5000,
  rollingWindowMs: 10_000,
  capacity: 64,
  consecutiveFailures: 5,
});

type Action = () => Promise<unknown>;

export class CallBreaker {
  private readonly breaker: CircuitBreaker<[Action], unknown>;
  private opens = 0;
  /** Failures since the last success. */
  private failuresInARow = 0;

  /** `target` names what the calls go to in refusals ("cloud", "remote http://…"). */
  constructor(
    private readonly target: string,
    options: CallBreakerOptions = {},
    onChange?: (state: BreakerState) => void,
  ) {
    const rollingWindowMs = options.rollingWindowMs ?? BREAKER_DEFAULTS.rollingWindowMs;
    this.breaker = new CircuitBreaker((action: Action) => action(), {
      timeout: false,
      errorThresholdPercentage: options.errorThresholdPercentage ?? BREAKER_DEFAULTS.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold ?? BREAKER_DEFAULTS.volumeThreshold,
      resetTimeout: options.resetTimeoutMs ?? BREAKER_DEFAULTS.resetTimeoutMs,
      rollingCountTimeout: rollingWindowMs,
      rollingCountBuckets: 10,
      capacity: options.capacity ?? BREAKER_DEFAULTS.capacity,
      // A request the target refused as malformed says nothing about the target's health.
      errorFilter: (err: unknown) => isFoglineError(err) && err.code === 'INVALID_ARG',
    });
    const consecutiveFailures = options.consecutiveFailures ?? BREAKER_DEFAULTS.consecutiveFailures;
    if (!Number.isInteger(consecutiveFailures) || consecutiveFailures < 1) {
      throw new FoglineError(
        'INVALID_ARG',
        `breaker: consecutiveFailures must be a positive integer, got ${consecutiveFailures}`,
      );
    }
    this.breaker.on('failure', () => {
      this.failuresInARow++;
      if (this.failuresInARow >= consecutiveFailures && !this.breaker.opened) this.breaker.open();
    });
    this.breaker.on('success', () => {
      this.failuresInARow = 0;
    });
    this.breaker.on('open', () => {
      this.opens++;
      onChange?.('open');
    });
    this.breaker.on('halfOpen', () => onChange?.('half-open'));
    this.breaker.on('close', () => onChange?.('closed'));
  }

  get state(): BreakerState {
    if (this.breaker.opened) return 'open';
    return this.breaker.halfOpen ? 'half-open' : 'closed';
  }

  /** Times the breaker has opened since start. */
  get openCount(): number {
    return this.opens;
  }

  /**
   * Runs `action` unless the breaker refuses it; a refusal rejects with UNAVAILABLE and
   * `details.refused = true` without calling `action`.
   */
  async fire<T>(action: () => Promise<T>): Promise<T> {
    try {
      return (await this.breaker.fire(action)) as T;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'EOPENBREAKER' || code === 'ESEMLOCKED') {
        const why =
          code === 'EOPENBREAKER'
            ? `${this.target} breaker is open`
            : `too many ${this.target} calls in flight`;
        throw new FoglineError('UNAVAILABLE', why, { cause: err, details: { refused: true } });
      }
      throw err;
    }
  }

  /** Opens at once, whatever the window holds: the target (e.g. one cloud replica) was found unreachable. */
  trip(): void {
    if (!this.breaker.opened) this.breaker.open();
  }

  /** Closes at once: a ready probe found the target answering again. */
  reset(): void {
    if (!this.breaker.closed) this.breaker.close();
  }

  /** Stops opossum's timers. */
  shutdown(): void {
    this.breaker.shutdown();
  }
}

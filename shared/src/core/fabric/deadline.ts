/**
 * Per-request latency budget, measured from the moment the edge (or the cloud playing a device's
 * edge) received the request (the device's clock is not ours, so transit time before receipt is
 * already spent from the device's point of view and not visible here). A few ms are held back for
 * publishing the reply.
 */

import type { Clock } from '../clock.ts';
import { FoglineError } from '../errors.ts';

export class Deadline {
  private readonly expiresAt: number;

  constructor(
    private readonly clock: Clock,
    readonly receivedAt: number,
    budgetMs: number,
    replyMarginMs: number,
  ) {
    this.expiresAt = receivedAt + budgetMs - replyMarginMs;
  }

  /** Budget left (ms) before the reply must go out; may be negative. */
  remainingMs(): number {
    return this.expiresAt - this.clock.now();
  }

  /** Time since receipt, ms. */
  elapsedMs(): number {
    return this.clock.now() - this.receivedAt;
  }

  /**
   * Resolves like `work`, or rejects with DEADLINE_EXCEEDED when the budget runs out first (the work
   * itself carries on; its result is then ignored).
   */
  race<T>(work: Promise<T>, what: string): Promise<T> {
    const ms = this.remainingMs();
    if (ms <= 0) {
      work.catch(() => {});
      return Promise.reject(new FoglineError('DEADLINE_EXCEEDED', `budget spent before ${what} finished`));
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new FoglineError('DEADLINE_EXCEEDED', `budget spent before ${what} finished`));
      }, ms);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
}

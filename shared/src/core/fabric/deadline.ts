/**
 * Per-request latency budget, measured from the moment the edge (or the cloud playing a device's
 * edge) received the request (the device's clock is not ours, so transit time before receipt is
 * already spent from the device's point of view and not visible here). A few ms are held back for
 * publishing the reply.
 */

import type { Clock } from '../clock.ts';
import { FoglineError } from '../errors.ts';
import { ExpiryList } from './expiry-list.ts';

/** Every pending `race` of the process, behind one timer (expiry-list.ts). */
const races = new ExpiryList();

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
      return Promise.reject(exceeded(what));
    }
    return new Promise<T>((resolve, reject) => {
      const expiry = races.add(ms, () => reject(exceeded(what)));
      work.then(
        (value) => {
          races.remove(expiry);
          resolve(value);
        },
        (err: unknown) => {
          races.remove(expiry);
          reject(err);
        },
      );
    });
  }
}

function exceeded(what: string): FoglineError {
  return new FoglineError('DEADLINE_EXCEEDED', `budget spent before ${what} finished`);
}

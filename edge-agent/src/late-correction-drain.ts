/**
 * Drains the late-correction store (docs/edge-agent.md "Late corrections"): once the cloud answers
 * again (its breaker closed), asks it about each degraded answer still waiting, oldest first, and
 * settles it: a correction when the cloud's class differs, nothing to send when it agrees.
 *
 * Low priority, never ahead of live requests: nothing is asked while the breaker is open (once
 * half-open, a drain call may be the probe when no live request comes), at most `concurrency` calls are in flight and `ratePerSec`
 * start per second, so the edge's live calls keep the connection pool and most of the cloud's rate
 * limit; a RATE_LIMITED answer pauses the drain for the cloud's `Retry-After`. A failed call ends
 * the round and the answer waits for the next (no retry storm: one round per `pollMs`); an input
 * the cloud refuses (INVALID_ARG) can never be answered and is settled without a correction.
 */
import { argmax, type CorrectionAnswer, type FoglineError, fromUnknown, TokenBucket } from '@fogline/shared';
import type { DegradedAnswer, LateCorrectionStore } from './late-correction-store.ts';

export interface LateCorrectionDrainOptions {
  readonly store: LateCorrectionStore;
  /** True while the cloud may be asked (its breaker is not open). */
  readonly cloudUp: () => boolean;
  /** The cloud's answer to a stored request; rejects with a FoglineError. */
  readonly ask: (entry: DegradedAnswer) => Promise<CorrectionAnswer>;
  readonly ttlMs: number;
  /** Cloud calls of the drain in flight at most. Default 2. */
  readonly concurrency?: number;
  /** Cloud calls of the drain started per second at most. Default 20. */
  readonly ratePerSec?: number;
  /** How often the drain looks for work, ms. Default 1000. */
  readonly pollMs?: number;
  /** Wall clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
  readonly warn?: (message: string) => void;
}

export interface LateCorrectionDrainCounts {
  /** Answers the cloud gave another class (corrections), and the same class. */
  readonly corrected: number;
  readonly agreed: number;
  /** Inputs the cloud refused (settled without a correction). */
  readonly refused: number;
  /** Calls that failed (left waiting), and RATE_LIMITED answers (the drain paused). */
  readonly failed: number;
  readonly rateLimited: number;
}

export class LateCorrectionDrain {
  readonly #o: LateCorrectionDrainOptions;
  readonly #now: () => number;
  readonly #bucket: TokenBucket;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #counts = { corrected: 0, agreed: 0, refused: 0, failed: 0, rateLimited: 0 };
  #round: Promise<void> | undefined;
  #pausedUntil = 0;
  #closed = false;

  constructor(options: LateCorrectionDrainOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    const ratePerSec = options.ratePerSec ?? 20;
    this.#bucket = new TokenBucket({ ratePerSec, burst: Math.max(1, Math.ceil(ratePerSec / 4)) });
    this.#timer = setInterval(() => this.kick(), options.pollMs ?? 1000);
    this.#timer.unref();
  }

  counts(): LateCorrectionDrainCounts {
    return { ...this.#counts };
  }

  /** Starts a round now unless one runs, the cloud is down or the drain is paused. */
  kick(): void {
    if (this.#round || this.#closed || !this.#o.cloudUp() || this.#now() < this.#pausedUntil) return;
    this.#round = this.#drain().finally(() => {
      this.#round = undefined;
    });
  }

  /**
   * Stops the drain: nothing new starts. A call in flight is not waited for (closing the cloud client
   * ends it; its answer stays waiting in the store), so a stop never hangs on a slow cloud.
   */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  async #drain(): Promise<void> {
    const concurrency = this.#o.concurrency ?? 2;
    while (!this.#closed && this.#o.cloudUp() && this.#now() >= this.#pausedUntil) {
      const batch = this.#o.store.waiting(concurrency);
      if (batch.length === 0) return;
      const taken = [];
      for (const entry of batch) {
        const take = this.#bucket.tryTake();
        if (!take.ok) {
          if (taken.length > 0) break;
          await new Promise((r) => setTimeout(r, take.retryAfterMs));
          if (!this.#bucket.tryTake().ok) break;
        }
        taken.push(entry);
      }
      const outcomes = await Promise.all(taken.map((entry) => this.#settle(entry)));
      if (outcomes.includes('stop')) return;
    }
  }

  /** Asks the cloud about one answer and settles it; 'stop' ends the round. */
  async #settle(entry: DegradedAnswer): Promise<'go' | 'stop'> {
    const { store } = this.#o;
    let answer: CorrectionAnswer;
    try {
      answer = await this.#o.ask(entry);
    } catch (err) {
      const error: FoglineError = fromUnknown(err);
      if (error.code === 'INVALID_ARG') {
        this.#counts.refused++;
        await store.settle(entry);
        return 'go';
      }
      if (error.code === 'RATE_LIMITED') {
        this.#counts.rateLimited++;
        const waitMs = Number(error.details?.retryAfterMs);
        this.#pausedUntil = this.#now() + (Number.isFinite(waitMs) && waitMs > 0 ? waitMs : 1000);
      } else this.#counts.failed++;
      return 'stop';
    }
    if (argmax(answer.outputs) === argmax(entry.answer.outputs)) {
      this.#counts.agreed++;
      await store.settle(entry);
      return 'go';
    }
    this.#counts.corrected++;
    await store.settle(entry, {
      requestId: entry.requestId,
      time: entry.time,
      expires: entry.time + this.#o.ttlMs,
      old: entry.answer,
      new: answer,
    });
    return 'go';
  }
}

/**
 * One token bucket per API key (DESIGN: Resilience), sized by the key's own record. Buckets live in
 * memory, per gateway replica; a re-issued key (new id or new limits) starts a fresh bucket.
 */
import { type Clock, FoglineError, systemClock, TokenBucket } from '@fogline/shared';
import type { ApiKeyRecord } from '../store/index.ts';

interface KeyBucket {
  id: number;
  bucket: TokenBucket;
}

export class KeyRateLimiter {
  private readonly buckets = new Map<string, KeyBucket>();

  constructor(private readonly clock: Clock = systemClock) {}

  /** Takes one token for `record`, or throws RATE_LIMITED with `details.retryAfterMs`. */
  take(record: ApiKeyRecord): void {
    let entry = this.buckets.get(record.name);
    if (
      !entry ||
      entry.id !== record.id ||
      entry.bucket.ratePerSec !== record.ratePerSec ||
      entry.bucket.burst !== record.burst
    ) {
      const bucket = new TokenBucket({
        ratePerSec: record.ratePerSec,
        burst: record.burst,
        clock: this.clock,
      });
      entry = { id: record.id, bucket };
      this.buckets.set(record.name, entry);
    }
    const taken = entry.bucket.tryTake();
    if (!taken.ok) {
      throw new FoglineError(
        'RATE_LIMITED',
        `API key '${record.name}' is over its rate of ${record.ratePerSec}/s`,
        {
          details: { retryAfterMs: taken.retryAfterMs, key: record.name },
        },
      );
    }
  }

  forget(name: string): void {
    this.buckets.delete(name);
  }
}

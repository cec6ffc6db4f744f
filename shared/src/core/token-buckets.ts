/**
 * Token buckets by key (an API key's name, an edge id), each with its own rate: the interface the
 * limiters take, so one process keeps them in memory (`localTokenBuckets`) and replicas share them
 * in Redis (cloud/src/cluster/shared-token-buckets.ts) with the same `TakeResult`. A take answers
 * synchronously when it can be decided here, and with a promise when it has to ask elsewhere.
 */
import type { Clock } from './clock.ts';
import { type TakeResult, TokenBucket } from './token-bucket.ts';

export interface BucketRate {
  readonly ratePerSec: number;
  readonly burst: number;
}

export interface TokenBuckets {
  /** Takes one token of `key`'s bucket, created full at `rate` (recreated full if `rate` changed). */
  take(key: string, rate: BucketRate): TakeResult | Promise<TakeResult>;
  /** Drops `key`'s bucket (a revoked key or edge): its next take starts full. */
  forget(key: string): void;
}

/** The buckets of one process, in memory. */
export function localTokenBuckets(clock?: Clock): TokenBuckets {
  const buckets = new Map<string, TokenBucket>();
  return {
    take(key, rate) {
      let bucket = buckets.get(key);
      if (!bucket || bucket.ratePerSec !== rate.ratePerSec || bucket.burst !== rate.burst) {
        bucket = new TokenBucket({ ratePerSec: rate.ratePerSec, burst: rate.burst, clock });
        buckets.set(key, bucket);
      }
      return bucket.tryTake();
    },
    forget: (key) => void buckets.delete(key),
  };
}

/**
 * One token bucket per API key (DESIGN: Resilience), sized by the key's own record. The buckets come
 * in as `TokenBuckets`: in memory for one process, shared by the replicas through Redis when the cloud
 * runs clustered (cluster/shared-token-buckets.ts). A re-issued key (new id) starts a fresh bucket, and
 * a key whose limits changed gets a full bucket at the new size.
 */
import {
  type Clock,
  FoglineError,
  localTokenBuckets,
  type TakeResult,
  type TokenBuckets,
} from '@fogline/shared';
import type { ApiKeyRecord } from '../store/index.ts';

export class KeyRateLimiter {
  /** The record id each key name was last limited under, to forget its bucket by name. */
  private readonly ids = new Map<string, number>();
  private readonly buckets: TokenBuckets;

  constructor(buckets?: TokenBuckets, clock?: Clock) {
    this.buckets = buckets ?? localTokenBuckets(clock);
  }

  /** Takes one token for `record`, or throws (rejects with) RATE_LIMITED with `details.retryAfterMs`. */
  take(record: ApiKeyRecord): void | Promise<void> {
    this.ids.set(record.name, record.id);
    const taken = this.buckets.take(bucketKey(record.name, record.id), record);
    return taken instanceof Promise ? taken.then((t) => refuse(record, t)) : refuse(record, taken);
  }

  forget(name: string): void {
    const id = this.ids.get(name);
    if (id === undefined) return;
    this.ids.delete(name);
    this.buckets.forget(bucketKey(name, id));
  }
}

const bucketKey = (name: string, id: number) => `${name}#${id}`;

function refuse(record: ApiKeyRecord, taken: TakeResult): void {
  if (taken.ok) return;
  throw new FoglineError(
    'RATE_LIMITED',
    `API key '${record.name}' is over its rate of ${record.ratePerSec}/s`,
    {
      details: { retryAfterMs: taken.retryAfterMs, key: record.name },
    },
  );
}

/**
 * Token buckets kept in Redis, one hash per key, changed by one Lua script per call so that replicas
 * taking from one bucket at once never both get its last token (docs/scale-out.md "Shared state").
 * The script refills at `ratePerSec` up to `burst` by Redis's own clock (replicas' clocks may
 * differ), optionally takes back tokens a replica did not spend, then grants up to `want` whole
 * tokens, at least one or none: the same arithmetic as shared/src/core/token-bucket.ts, in Redis.
 * Each call also marks the calling replica as alive, so every replica knows how many share a limit
 * (what each keeps to on its own while Redis is unreachable).
 *
 * A key unused for burst/rate (+1 s) expires: it would be full again by then, so dropping it is exact.
 * A call is never sent while the connection is down, and one that takes longer than `timeoutMs`
 * rejects (UNAVAILABLE): the callers fall back (shared-token-buckets.ts, shared-auth-budgets.ts).
 */
import { randomBytes } from 'node:crypto';
import { type BucketRate, FoglineError } from '@fogline/shared';
import type { Redis } from 'ioredis';
import type { Cluster } from './cluster.ts';
import { within } from './within.ts';

/** KEYS: bucket, replicas; ARGV: ratePerSec, burst, want, giveBack, replica, aliveMs. */
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local want, back = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000 + back)
local granted, retry = 0, 0
if want > 0 then
  if tokens >= 1 - 1e-9 then
    granted = math.min(want, math.floor(tokens + 1e-9))
    tokens = math.max(0, tokens - granted)
  else
    retry = math.max(1, math.ceil((1 - tokens) * 1000 / rate))
  end
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(math.max(now, at)))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[6]))
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {granted, retry, redis.call('ZCARD', KEYS[2])}
`;

type TakeCommand = (
  bucket: string,
  replicas: string,
  ratePerSec: number,
  burst: number,
  want: number,
  giveBack: number,
  replica: string,
  aliveMs: number,
) => Promise<[number, number, number]>;

export interface RedisTake {
  /** Whole tokens granted (0..want). */
  readonly granted: number;
  /** When nothing was granted: ms until one token is there. */
  readonly retryAfterMs: number;
  /** Replicas that used these buckets in the last `aliveMs` (this one included). */
  readonly replicas: number;
}

export interface RedisBucketsOptions {
  /** Key prefix of this kind of bucket, e.g. `fogline:bucket:edge:`. */
  readonly prefix: string;
  /** How long one call may take before the caller falls back. Default 250 ms. */
  readonly timeoutMs?: number;
  /** A replica not heard from for this long no longer counts. Default 30 s. */
  readonly aliveMs?: number;
}

export class RedisBuckets {
  readonly #redis: Redis & { foglineTake?: TakeCommand };
  readonly #prefix: string;
  readonly #timeoutMs: number;
  readonly #aliveMs: number;
  readonly #replica = randomBytes(6).toString('hex');

  constructor(cluster: Pick<Cluster, 'redis'>, options: RedisBucketsOptions) {
    this.#redis = cluster.redis;
    if (!this.#redis.foglineTake)
      this.#redis.defineCommand('foglineTake', { numberOfKeys: 2, lua: TAKE_SCRIPT });
    this.#prefix = options.prefix;
    this.#timeoutMs = options.timeoutMs ?? 250;
    this.#aliveMs = options.aliveMs ?? 30_000;
  }

  /** True while the connection is up (a call is only sent then). */
  get reachable(): boolean {
    return this.#redis.status === 'ready';
  }

  /** One atomic refill + give back + take on `key`'s bucket; rejects with UNAVAILABLE (see above). */
  async take(key: string, rate: BucketRate, want: number, giveBack = 0): Promise<RedisTake> {
    if (!this.reachable) throw new FoglineError('UNAVAILABLE', `redis is ${this.#redis.status}`);
    const call = this.#redis.foglineTake!(
      this.#prefix + key,
      `${this.#prefix}~replicas`,
      rate.ratePerSec,
      rate.burst,
      want,
      giveBack,
      this.#replica,
      this.#aliveMs,
    );
    const [granted, retryAfterMs, replicas] = await within(call, this.#timeoutMs, 'token bucket');
    return { granted, retryAfterMs, replicas: Math.max(1, replicas) };
  }
}

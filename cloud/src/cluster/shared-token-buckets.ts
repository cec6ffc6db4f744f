/**
 * Rate limits the replicas keep together (docs/scale-out.md "Shared state"): `TokenBuckets` whose
 * buckets live in Redis (redis-buckets.ts), spent through LOCAL LEASES so most requests never wait
 * on Redis. A replica takes up to `leaseSize(rate)` tokens at once from the shared bucket and spends
 * them here, synchronously, for up to `leaseMs`; only an empty (or expired) lease asks Redis again,
 * one call per key at a time, and the requests that arrive meanwhile share its answer. Unspent tokens
 * of an expired lease are given back by the next call for that key.
 *
 * The bound: leased tokens leave the shared bucket before they are spent, so the replicas together
 * never admit more than the bucket allows. Each replica may hold up to `leaseSize` unspent tokens of
 * a key, so another replica can be refused while up to (replicas − 1) × (leaseSize − 1) tokens sit
 * in leases, for at most `leaseMs`. Small buckets (burst < 40) lease one token at a time: exact,
 * with one Redis call per take.
 *
 * A refusal from Redis is remembered until its retry time (no token can appear sooner but by a
 * give-back), so a flood over the limit is refused here without a call per request.
 *
 * Redis unreachable (down, or no answer within the call's timeout): every replica falls back to a
 * local bucket at its share of the limit (rate and burst / the replicas last seen), logs one line,
 * and goes back to Redis once it answers again (one line). No request waits longer than the timeout.
 */
import {
  type BucketRate,
  type Clock,
  localTokenBuckets,
  systemClock,
  type TakeResult,
  type TokenBuckets,
} from '@fogline/shared';
import type { Cluster } from './cluster.ts';
import { RedisBuckets } from './redis-buckets.ts';

export interface SharedTokenBucketsOptions {
  /** What these buckets limit, for keys and log lines: `edge`, `api-key`. */
  readonly name: string;
  /** Key prefix in Redis. Default `fogline:bucket:`. */
  readonly prefix?: string;
  /** How long leased tokens may be spent. Default 1000 ms. */
  readonly leaseMs?: number;
  /** The most tokens one lease takes. Default 50. */
  readonly maxLease?: number;
  /** How long one Redis call may take before the take falls back. Default 250 ms. */
  readonly timeoutMs?: number;
  /** After a failed call, how long takes stay local before Redis is tried again. Default 1000 ms. */
  readonly retryRedisMs?: number;
  readonly clock?: Clock;
  readonly log?: (line: string) => void;
}

/** Tokens one lease takes: 1/40 of the burst, at least 1, at most `max`. */
export function leaseSize(rate: BucketRate, max = 50): number {
  return Math.max(1, Math.min(max, Math.floor(rate.burst / 40)));
}

interface Lease {
  tokens: number;
  expiresAt: number;
  /** Redis said the bucket is empty: refused here until then. */
  refusedUntil: number;
  fetching?: Promise<void>;
}

export class SharedTokenBuckets implements TokenBuckets {
  readonly #redis: RedisBuckets;
  readonly #leases = new Map<string, Lease>();
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #maxLease: number;
  readonly #retryRedisMs: number;
  readonly #log: (line: string) => void;
  readonly #name: string;
  #fallback: TokenBuckets | undefined;
  #localUntil = 0;
  #replicas = 1;

  constructor(cluster: Pick<Cluster, 'redis'>, options: SharedTokenBucketsOptions) {
    this.#name = options.name;
    this.#redis = new RedisBuckets(cluster, {
      prefix: `${options.prefix ?? 'fogline:bucket:'}${options.name}:`,
      timeoutMs: options.timeoutMs,
    });
    this.#clock = options.clock ?? systemClock;
    this.#leaseMs = options.leaseMs ?? 1_000;
    this.#maxLease = options.maxLease ?? 50;
    this.#retryRedisMs = options.retryRedisMs ?? 1_000;
    this.#log = options.log ?? (() => {});
  }

  /** True while takes are decided locally because Redis did not answer. */
  get local(): boolean {
    return this.#fallback !== undefined;
  }

  take(key: string, rate: BucketRate): TakeResult | Promise<TakeResult> {
    const now = this.#clock.now();
    if (this.#fallback && (now < this.#localUntil || !this.#redis.reachable))
      return this.#takeLocal(key, rate);
    const lease = this.#leases.get(key);
    if (lease) {
      const spent = this.#spend(lease, now);
      if (spent) return spent;
    }
    return this.#takeShared(key, rate, 0);
  }

  forget(key: string): void {
    this.#leases.delete(key);
    this.#fallback?.forget(key);
  }

  /** A decision from the lease alone, or undefined when Redis must be asked. */
  #spend(lease: Lease, now: number): TakeResult | undefined {
    if (lease.tokens >= 1 && now < lease.expiresAt) {
      lease.tokens -= 1;
      return { ok: true };
    }
    if (now < lease.refusedUntil) return { ok: false, retryAfterMs: Math.ceil(lease.refusedUntil - now) };
    return undefined;
  }

  async #takeShared(key: string, rate: BucketRate, tries: number): Promise<TakeResult> {
    let lease = this.#leases.get(key);
    if (!lease) {
      lease = { tokens: 0, expiresAt: 0, refusedUntil: 0 };
      this.#leases.set(key, lease);
    }
    lease.fetching ??= this.#refill(key, rate, lease).finally(() => {
      lease.fetching = undefined;
    });
    try {
      await lease.fetching;
    } catch {
      return this.#takeLocal(key, rate);
    }
    const spent = this.#spend(lease, this.#clock.now());
    if (spent) return spent;
    // The tokens granted went to the requests that waited with this one: ask again, a few times.
    if (tries < 3) return this.#takeShared(key, rate, tries + 1);
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(1000 / rate.ratePerSec)) };
  }

  async #refill(key: string, rate: BucketRate, lease: Lease): Promise<void> {
    const expired = this.#clock.now() >= lease.expiresAt;
    const giveBack = expired ? Math.floor(lease.tokens) : 0;
    let answer: Awaited<ReturnType<RedisBuckets['take']>>;
    try {
      answer = await this.#redis.take(key, rate, leaseSize(rate, this.#maxLease), giveBack);
    } catch (err) {
      this.#goLocal(err);
      throw err;
    }
    this.#backToRedis();
    this.#replicas = answer.replicas;
    const now = this.#clock.now();
    if (expired) lease.tokens = 0;
    lease.tokens += answer.granted;
    lease.expiresAt = now + this.#leaseMs;
    lease.refusedUntil = answer.granted === 0 ? now + answer.retryAfterMs : 0;
  }

  #takeLocal(key: string, rate: BucketRate): TakeResult {
    const share = this.#replicas;
    this.#fallback ??= localTokenBuckets(this.#clock);
    return this.#fallback.take(key, {
      ratePerSec: rate.ratePerSec / share,
      burst: Math.max(1, Math.floor(rate.burst / share)),
    }) as TakeResult;
  }

  #goLocal(err: unknown): void {
    this.#localUntil = this.#clock.now() + this.#retryRedisMs;
    if (this.#fallback) return;
    this.#fallback = localTokenBuckets(this.#clock);
    const why = err instanceof Error ? err.message : String(err);
    this.#log(
      `${this.#name} rate limits: ${why}; each replica keeps 1/${this.#replicas} of every limit on its own until Redis answers`,
    );
  }

  #backToRedis(): void {
    if (!this.#fallback) return;
    this.#fallback = undefined;
    this.#leases.clear();
    this.#log(`${this.#name} rate limits: shared through Redis again`);
  }
}

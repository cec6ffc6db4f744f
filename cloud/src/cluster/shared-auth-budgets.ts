/**
 * The failed-authentication budgets (shared/src/secrets/auth-throttle.ts) made cluster-wide
 * (docs/security.md "Authentication cost", docs/scale-out.md "Shared state"). The throttle answers
 * synchronously (the brokers ask it inside their CONNECT handling), so each replica keeps its own
 * buckets as before and mirrors every failure it takes into the shared bucket in Redis
 * (redis-buckets.ts), off the request's path. When Redis reports the shared bucket empty, the address
 * (or id) is refused on this replica until the retry time Redis gave.
 *
 * The bound: a source spreading its attempts over N replicas gets the budget once, plus at most one
 * failure per replica (and per call in flight there) each time the shared bucket runs dry, before
 * every replica that sees it refuses it. Redis unreachable: each replica's own budget applies, as
 * without a cluster (one log line); the mirror resumes once Redis answers.
 */
import type { AuthThrottleOptions, FailureBudgets, FailureRate } from '@fogline/shared/secrets';
import type { Cluster } from './cluster.ts';
import { RedisBuckets } from './redis-buckets.ts';

export interface SharedAuthBudgetsOptions {
  /** Key prefix in Redis. Default `fogline:bucket:`. */
  readonly prefix?: string;
  /** Keys remembered as refused at once, per budget (oldest out first). Default 10 000. */
  readonly maxTracked?: number;
  /** Wall-clock ms. Default Date.now. */
  readonly now?: () => number;
  readonly log?: (line: string) => void;
}

/** The `share` option of AuthThrottle for a clustered cloud. */
export function sharedAuthBudgets(
  cluster: Pick<Cluster, 'redis'>,
  options: SharedAuthBudgetsOptions = {},
): NonNullable<AuthThrottleOptions['share']> {
  const prefix = options.prefix ?? 'fogline:bucket:';
  let failing = false;
  const log = options.log ?? (() => {});
  const trouble = (err: unknown) => {
    if (failing) return;
    failing = true;
    const why = err instanceof Error ? err.message : String(err);
    log(`failed-authentication budgets: ${why}; each replica keeps its own until Redis answers`);
  };
  const fine = () => {
    if (failing) log('failed-authentication budgets: shared through Redis again');
    failing = false;
  };
  return (kind, local, rate) =>
    new MirroredBudgets(new RedisBuckets(cluster, { prefix: `${prefix}auth-${kind}:` }), local, rate, {
      max: options.maxTracked ?? 10_000,
      now: options.now ?? Date.now,
      trouble,
      fine,
    });
}

class MirroredBudgets implements FailureBudgets {
  /** Key → wall-clock ms until which the shared bucket is empty. */
  readonly #refused = new Map<string, number>();

  constructor(
    private readonly redis: RedisBuckets,
    private readonly local: FailureBudgets,
    private readonly rate: FailureRate,
    private readonly o: { max: number; now: () => number; trouble: (e: unknown) => void; fine: () => void },
  ) {}

  take(key: string): ReturnType<FailureBudgets['take']> {
    const taken = this.local.take(key);
    const refusedFor = this.#refusedFor(key);
    this.#mirror(key);
    if (!taken.ok) return taken;
    return refusedFor > 0 ? { ok: false, retryAfterMs: refusedFor } : taken;
  }

  tokens(key: string): number {
    return this.#refusedFor(key) > 0 ? 0 : this.local.tokens(key);
  }

  blockedFor(key: string): number {
    return Math.max(this.local.blockedFor(key), this.#refusedFor(key));
  }

  #refusedFor(key: string): number {
    const until = this.#refused.get(key);
    if (until === undefined) return 0;
    const left = until - this.o.now();
    if (left > 0) return Math.ceil(left);
    this.#refused.delete(key);
    return 0;
  }

  /** Takes the failure from the shared bucket too; an empty one refuses `key` here until it refills. */
  #mirror(key: string): void {
    this.redis.take(key, this.rate, 1, 0).then(
      (answer) => {
        this.o.fine();
        if (answer.granted > 0) return;
        this.#refused.delete(key);
        this.#refused.set(key, this.o.now() + answer.retryAfterMs);
        if (this.#refused.size > this.o.max) this.#refused.delete(this.#refused.keys().next().value!);
      },
      (err: unknown) => this.o.trouble(err),
    );
  }
}

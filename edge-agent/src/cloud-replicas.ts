/**
 * The cloud as the edge reaches it over HTTP (`--cloud A,B`, docs/edge-agent.md "Several cloud URLs"):
 * an ordered list of replicas, the first preferred, each with its own CloudClient (its keep-alive pool)
 * and its own CloudBreaker. One breaker per URL, so one replica dying opens its breaker only: calls go
 * to the first replica whose breaker is not open, and the edge answers degraded only when every
 * replica's breaker is open (the cloud's state, `state`, is then 'open').
 *
 * A call that failed because its replica failed (unreachable, 500/502/503) is made once more on the
 * next usable replica, when the caller's budget still allows it (never past the deadline, never twice
 * on one replica); an unreachable replica (connection refused or reset) has its breaker opened at once
 * instead of after `consecutiveFailures`, and so does one whose call timed out and whose ready probe
 * then gets no 200 either (a hung replica, or its host gone: nothing refuses, every call times out). With more than one replica, a replica whose breaker is open
 * is probed at `/v2/health/ready` every `probeIntervalMs`: when it answers 200 its breaker closes and,
 * earlier in the list, it takes the traffic back. A single URL behaves as the one breaker always did.
 */
import { FoglineError, isFoglineError } from '@fogline/shared';
import { type BreakerState, CloudBreaker, type CloudBreakerOptions } from './cloud-breaker.ts';
import type { CloudClient } from './cloud-client.ts';

export interface CloudReplica {
  readonly url: string;
  readonly client: CloudClient;
  readonly breaker: CloudBreaker;
}

export interface CloudReplicasOptions {
  /** One client per URL, the preferred first. */
  readonly clients: readonly CloudClient[];
  readonly breaker: CloudBreakerOptions;
  /** The cloud's state changed (every replica's breaker open, or one usable again). */
  readonly onChange?: (state: BreakerState) => void;
  /** One replica's breaker changed (with more than one replica). */
  readonly onReplicaChange?: (url: string, state: BreakerState) => void;
  /** Period of the ready probe of a replica whose breaker is open; 0 = none. Default 1000. */
  readonly probeIntervalMs?: number;
}

export const DEFAULT_PROBE_INTERVAL_MS = 1000;

/** Whether a call failed because of its replica, not the request: worth one try on the next replica. */
export function replicaFailed(err: unknown): boolean {
  if (!isFoglineError(err)) return false;
  if (err.details?.refused === true) return true;
  const status = err.details?.httpStatus;
  if (status === undefined) return err.code === 'UNAVAILABLE'; // network: refused, reset, hung up
  return status === 500 || status === 502 || status === 503;
}

/** The call ran out of time without an answer (no HTTP status): the replica may be slow, or hung. */
function timedOut(err: unknown): boolean {
  return isFoglineError(err) && err.code === 'DEADLINE_EXCEEDED' && err.details?.httpStatus === undefined;
}

/** Connection refused, reset or hung up: the replica is gone, not merely slow. */
function unreachable(err: unknown): boolean {
  return (
    isFoglineError(err) &&
    err.code === 'UNAVAILABLE' &&
    err.details?.httpStatus === undefined &&
    err.details?.refused !== true
  );
}

export class CloudReplicas {
  readonly replicas: readonly CloudReplica[];
  #state: BreakerState = 'closed';
  readonly #probing = new Set<CloudReplica>();
  readonly #probe: ReturnType<typeof setInterval> | undefined;
  readonly #probeTimeoutMs: number;
  #closed = false;

  constructor(private readonly options: CloudReplicasOptions) {
    if (options.clients.length === 0)
      throw new FoglineError('INVALID_ARG', 'the cloud needs at least one URL');
    const several = options.clients.length > 1;
    this.replicas = options.clients.map((client) => {
      const breaker = new CloudBreaker(options.breaker, (state) => {
        if (several) options.onReplicaChange?.(client.baseUrl, state);
        this.#recompute();
      });
      return { url: client.baseUrl, client, breaker };
    });
    const every = options.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.#probeTimeoutMs = Math.max(every, 500);
    if (several && every > 0) {
      this.#probe = setInterval(() => this.#probeOpen(), every);
      this.#probe.unref();
    }
  }

  /** The cloud model escalated to (the same on every replica). */
  get model(): string {
    return this.replicas[0]!.client.model;
  }

  /** 'open' when every replica's breaker is open, 'closed' when one is closed, else 'half-open'. */
  get state(): BreakerState {
    return this.#state;
  }

  /** The URL calls go to now: the first replica whose breaker is not open. */
  get activeUrl(): string {
    return this.#candidates()[0]!.url;
  }

  /**
   * Runs `action` through the breaker of the first usable replica, and once more on the next one when
   * that replica failed and `canRetry()` (the budget left) allows it. Rejects like CloudBreaker.fire:
   * UNAVAILABLE with `details.refused` when every breaker is open.
   */
  async fire<T>(
    action: (client: CloudClient) => Promise<T>,
    canRetry: () => boolean = () => true,
  ): Promise<T> {
    return this.#withFailover((replica) => replica.breaker.fire(() => action(replica.client)), canRetry);
  }

  /**
   * Runs `action` on the first usable replica outside the breakers (the desired state, audits, reported
   * state, model files: traffic that says nothing of the escalation path's latency), and once more on
   * the next when that replica failed. An unreachable replica still has its breaker opened.
   */
  async call<T>(action: (client: CloudClient) => Promise<T>): Promise<T> {
    return this.#withFailover(
      (replica) => action(replica.client),
      () => true,
    );
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#probe);
    for (const { client, breaker } of this.replicas) {
      client.close();
      breaker.shutdown();
    }
  }

  async #withFailover<T>(run: (replica: CloudReplica) => Promise<T>, canRetry: () => boolean): Promise<T> {
    const [first, next] = this.#candidates();
    try {
      return await this.#runOn(first!, run);
    } catch (err) {
      if (next === undefined || !replicaFailed(err) || !canRetry()) throw err;
      return this.#runOn(next, run);
    }
  }

  async #runOn<T>(replica: CloudReplica, run: (replica: CloudReplica) => Promise<T>): Promise<T> {
    try {
      return await run(replica);
    } catch (err) {
      if (this.replicas.length > 1 && unreachable(err)) replica.breaker.trip();
      else if (this.replicas.length > 1 && timedOut(err)) this.#checkReady(replica);
      throw err;
    }
  }

  /** Replicas whose breaker is not open, in order; the first alone when all are (its breaker refuses). */
  #candidates(): readonly CloudReplica[] {
    const usable = this.replicas.filter((r) => r.breaker.state !== 'open');
    return usable.length > 0 ? usable : [this.replicas[0]!];
  }

  #probeOpen(): void {
    for (const replica of this.replicas) {
      if (replica.breaker.state !== 'open' || this.#probing.has(replica)) continue;
      this.#probing.add(replica);
      void replica.client
        .ready(this.#probeTimeoutMs)
        .then((ready) => {
          if (ready) replica.breaker.reset();
        })
        .finally(() => this.#probing.delete(replica));
    }
  }

  /**
   * A call that timed out: a replica that does not answer its ready probe either (hung, its host gone:
   * nothing refuses or resets) has its breaker opened, as an unreachable one; a slow one is left alone.
   */
  #checkReady(replica: CloudReplica): void {
    if (replica.breaker.state === 'open' || this.#probing.has(replica)) return;
    this.#probing.add(replica);
    void replica.client
      .ready(this.#probeTimeoutMs)
      .then((ready) => {
        if (!ready && !this.#closed && replica.breaker.state !== 'open') replica.breaker.trip();
      })
      .finally(() => this.#probing.delete(replica));
  }

  #recompute(): void {
    if (this.replicas === undefined) return; // a breaker's event while constructing
    const states = this.replicas.map((r) => r.breaker.state);
    const state: BreakerState = states.every((s) => s === 'open')
      ? 'open'
      : states.includes('closed')
        ? 'closed'
        : 'half-open';
    if (state === this.#state) return;
    this.#state = state;
    this.options.onChange?.(state);
  }
}

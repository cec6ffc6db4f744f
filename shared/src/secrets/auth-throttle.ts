/**
 * What failed authentications may cost (docs/security.md "Authentication cost"), one instance shared by
 * a process's listeners (the cloud's HTTP gateway and broker; an edge's broker):
 *
 * - **per source address**, a token bucket of failures. Every credential check (an HTTP request,
 *   a CONNECT on either broker) `reserve`s a token of its address's bucket: held, not taken, while
 *   the check runs, and taken only if the credential was wrong (address-reservations.ts). An
 *   address has at most as many checks in flight as its bucket holds tokens, on all listeners
 *   together; a further one waits (bounded) for one to settle, with no lookup or hash. So a flood
 *   cannot get past the budget while its hashes run, and a valid client's burst of concurrent
 *   requests (a gateway, a NAT, a reconnect storm) is never refused for being concurrent. An empty
 *   bucket refuses the address at once, with no hash (HTTP 429 with Retry-After, MQTT CONNACK
 *   "server unavailable"), until it refills.
 * - **per claimed id** (edge or device id), a bucket of failures: past it, each further failure for that
 *   id is answered only after `idFailureDelayMs`. Successes are never delayed or refused by it: anyone
 *   can name an id, so failures on an id never lock out the holder of its right token.
 *
 * Both maps are bounded (least recently used out first). Replicas of the cloud share both budgets
 * (`share`: the cloud's Redis mirror, cloud/src/cluster/shared-auth-budgets.ts): the interface and
 * its synchronous answers stay the same, so the brokers and HTTP use one throttle either way. IPv4-mapped IPv6 addresses count as their IPv4
 * address, and IPv6 addresses by their /64 (one host usually holds a whole /64).
 */
import { type Clock, systemClock } from '../core/clock.ts';
import { type TakeResult, TokenBucket } from '../core/token-bucket.ts';
import { AddressReservations, type Reserved, type ReserveRefusal } from './address-reservations.ts';

export interface FailureRate {
  /** Failures forgiven per second. */
  ratePerSec: number;
  /** Failures allowed at once. */
  burst: number;
}

export interface AuthThrottleOptions {
  /** Failed authentications per source address. Default 2/s, burst 20. */
  perAddress?: FailureRate;
  /** Failures per claimed id before they are slowed. Default 1/s, burst 10. */
  perId?: FailureRate;
  /** How long a failure past its id's bucket waits before it is answered. Default 1000 ms. */
  idFailureDelayMs?: number;
  /** Addresses and ids tracked at once, each. Default 10 000. */
  maxTracked?: number;
  /**
   * Longest a CONNECT waits for a check from its address to settle when the checks in flight hold its
   * whole budget (`reserve`). Default 30 000 ms, MQTT.js's connect timeout: a client gives up by then.
   */
  maxWaitMs?: number;
  /** CONNECTs waiting per address (`reserve`); past it refused as busy. Default 1000. */
  maxWaitingPerAddress?: number;
  /**
   * Makes a budget cluster-wide: given this process's own budget, returns the one to use (which may
   * consult and feed a shared store, but answers synchronously). Absent: this process's alone.
   */
  share?: (kind: 'address' | 'id', local: FailureBudgets, rate: FailureRate) => FailureBudgets;
  clock?: Clock;
}

/** Failure buckets by key (an address or an id), answered synchronously. */
export interface FailureBudgets {
  /** Takes a token of `key`'s bucket (created full). */
  take(key: string): TakeResult;
  /** Tokens in `key`'s bucket now (fractional; its burst when it has none); takes nothing. */
  tokens(key: string): number;
  /** How long until `key`'s bucket holds a whole token, in ms (0 = it does); takes nothing. */
  blockedFor(key: string): number;
}

export const AUTH_THROTTLE_DEFAULTS = Object.freeze({
  perAddress: Object.freeze({ ratePerSec: 2, burst: 20 }),
  perId: Object.freeze({ ratePerSec: 1, burst: 10 }),
  idFailureDelayMs: 1000,
  maxTracked: 10_000,
  maxWaitMs: 30_000,
  maxWaitingPerAddress: 1000,
});

/** A CONNECT's hold on a token of its address's budget while its credential is checked. */
export interface AuthReservation {
  /** The credential was right, or nothing was checked: the budget keeps its token. */
  release(): void;
  /** The credential was wrong: as `AuthThrottle.failed` (takes the token); returns the delay. */
  failed(id?: string): number;
}

/** `busy`: the checks in flight hold the address's whole budget and the wait for one ran out. */
export type ReserveResult =
  | { ok: true; reservation: AuthReservation }
  | { ok: false; retryAfterMs: number; reason: 'spent' | 'busy' };

/** Buckets by key, the least recently used dropped past `max` (a dropped key starts full again). */
export class BucketMap implements FailureBudgets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly rate: FailureRate,
    private readonly max: number,
    private readonly clock: Clock,
  ) {}

  private get(key: string): TokenBucket {
    let bucket = this.buckets.get(key);
    if (bucket) this.buckets.delete(key);
    else bucket = new TokenBucket({ ...this.rate, clock: this.clock });
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.max) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }

  take(key: string): TakeResult {
    return this.get(key).tryTake();
  }

  tokens(key: string): number {
    return this.buckets.get(key)?.tokens ?? this.rate.burst;
  }

  blockedFor(key: string): number {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) return 0;
    const missing = 1 - bucket.tokens;
    return missing <= 1e-9 ? 0 : Math.max(1, Math.ceil((missing * 1000) / bucket.ratePerSec));
  }
}

export class AuthThrottle {
  readonly options: Readonly<Required<Omit<AuthThrottleOptions, 'clock' | 'share'>>>;
  private readonly addresses: FailureBudgets;
  private readonly ids: FailureBudgets;
  private readonly reservations: AddressReservations;

  constructor(options: AuthThrottleOptions = {}) {
    const clock = options.clock ?? systemClock;
    this.options = Object.freeze({
      perAddress: options.perAddress ?? AUTH_THROTTLE_DEFAULTS.perAddress,
      perId: options.perId ?? AUTH_THROTTLE_DEFAULTS.perId,
      idFailureDelayMs: options.idFailureDelayMs ?? AUTH_THROTTLE_DEFAULTS.idFailureDelayMs,
      maxTracked: options.maxTracked ?? AUTH_THROTTLE_DEFAULTS.maxTracked,
      maxWaitMs: options.maxWaitMs ?? AUTH_THROTTLE_DEFAULTS.maxWaitMs,
      maxWaitingPerAddress: options.maxWaitingPerAddress ?? AUTH_THROTTLE_DEFAULTS.maxWaitingPerAddress,
    });
    const { perAddress, perId, maxTracked } = this.options;
    const share = options.share ?? ((_kind, local) => local);
    this.addresses = share('address', new BucketMap(perAddress, maxTracked, clock), perAddress);
    this.ids = share('id', new BucketMap(perId, maxTracked, clock), perId);
    this.reservations = new AddressReservations(this.addresses, {
      maxWaitMs: this.options.maxWaitMs,
      maxWaiting: this.options.maxWaitingPerAddress,
    });
  }

  /**
   * Call before checking a credential from `address` (undefined: in process, never limited); takes
   * nothing. Not ok: refuse at once, without any lookup, and tell the client to retry after
   * `retryAfterMs`.
   */
  begin(address: string | undefined): TakeResult {
    const retryAfterMs = this.blockedFor(address);
    return retryAfterMs === 0 ? { ok: true } : { ok: false, retryAfterMs };
  }

  /**
   * Holds a token of `address`'s budget for one credential check (see the module comment): at once
   * (synchronously), or once a check from the address settles (a promise); `signal` gives up the
   * wait (the connection closed). Settle the reservation exactly once: `release` when the credential
   * was right or nothing was checked, `failed` when it was wrong. Refused `spent`: the address is
   * over its budget; `busy`: its checks in flight held the whole budget for `maxWaitMs`, or
   * `maxWaitingPerAddress` wait.
   */
  reserve(address: string | undefined, signal?: AbortSignal): ReserveResult | Promise<ReserveResult> {
    if (address === undefined) {
      return { ok: true, reservation: { release: () => {}, failed: (id) => this.failed(undefined, id) } };
    }
    const held = this.reservations.reserve(addressKey(address), signal);
    return held instanceof Promise
      ? held.then((h) => this.reservation(address, h))
      : this.reservation(address, held);
  }

  private reservation(address: string, held: Reserved | ReserveRefusal): ReserveResult {
    if (!held.ok) return held;
    const failed = (id?: string) => {
      const delayMs = this.failed(address, id);
      held.settle();
      return delayMs;
    };
    return { ok: true, reservation: { release: held.settle, failed } };
  }

  /** Checks under way and CONNECTs waiting from `address` (`reserve`). */
  reserved(address: string): { inFlight: number; waiting: number } {
    return this.reservations.load(addressKey(address));
  }

  /**
   * How long `address` is over its budget from now, in ms (0 = not over it); takes nothing. A
   * listener can refuse such a connection or request before any parsing or lookup.
   */
  blockedFor(address: string | undefined): number {
    return address === undefined ? 0 : this.addresses.blockedFor(addressKey(address));
  }

  /**
   * The credential presented from `address` was wrong (for `id`, when one was claimed): takes the
   * address's token, and returns how long to hold the refusal (0 = answer now). A reserved check
   * calls its reservation's `failed` instead.
   */
  failed(address: string | undefined, id?: string): number {
    if (address !== undefined) this.addresses.take(addressKey(address));
    if (id === undefined) return 0;
    return this.ids.take(id).ok ? 0 : this.options.idFailureDelayMs;
  }
}

/** The key an address is limited by: IPv4 as is (mapped ones unwrapped), IPv6 by its /64. */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('%')[0]!.toLowerCase().split('::');
  const front = head === '' ? [] : head.split(':');
  const back = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** Waits `ms` (0: at once, without a timer). */
export function holdFor(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

/**
 * The credential checks under way per source address, on every listener (auth-throttle.ts
 * `reserve`; docs/security.md "Authentication cost"). A check (an HTTP request, a CONNECT) holds one
 * token of its address's failure budget while it runs, without taking it: only a confirmed failure
 * takes a token, so valid clients are never refused for being concurrent (a NAT, a gateway, a
 * reconnect storm after an edge restart).
 *
 * The flood bound: an address may have as many checks in flight as its budget has whole tokens. A
 * further check waits, before any lookup or hash, for one of them to settle, first come first
 * served, in a queue of at most `maxWaiting` per address for at most `maxWaitMs`. It is refused at
 * once when confirmed failures have emptied the budget (the waiting ones too, when that happens while
 * they wait), and refused as busy when the queue is full or its wait runs out.
 */

/** The failure budget seen by the reservations: whole tokens left and the wait for one (ms). */
export interface ReservableBudget {
  tokens(key: string): number;
  blockedFor(key: string): number;
}

export interface ReservationLimits {
  /** Longest a CONNECT waits for a check of its address to settle. */
  readonly maxWaitMs: number;
  /** CONNECTs waiting per address; past it refused as busy. */
  readonly maxWaiting: number;
}

/** Why a reservation was refused: the budget is spent (`spent`), or the address's queue is (`busy`). */
export type ReserveRefusal = { ok: false; retryAfterMs: number; reason: 'spent' | 'busy' };
export type Reserved = { ok: true; settle(): void };

interface Waiter {
  readonly resolve: (result: Reserved | ReserveRefusal) => void;
  readonly done: () => void;
}

interface AddressState {
  inFlight: number;
  readonly waiting: Waiter[];
}

/** The retry hint of a busy refusal: about one check's time, not the budget's. */
const BUSY_RETRY_MS = 1000;
const EPSILON = 1e-9;

export class AddressReservations {
  private readonly states = new Map<string, AddressState>();

  constructor(
    private readonly budget: ReservableBudget,
    private readonly limits: ReservationLimits,
  ) {}

  /** Checks under way and CONNECTs waiting for `key` (for tests and stats). */
  load(key: string): { inFlight: number; waiting: number } {
    const state = this.states.get(key);
    return { inFlight: state?.inFlight ?? 0, waiting: state?.waiting.length ?? 0 };
  }

  /**
   * A reservation for `key`: synchronously when it is granted or refused at once, else a promise of
   * it after a wait. `settle` it exactly once when the check is over (after taking the failure, if
   * it failed). `signal` aborts a wait (the connection closed).
   */
  reserve(key: string, signal?: AbortSignal): Reserved | ReserveRefusal | Promise<Reserved | ReserveRefusal> {
    const state = this.states.get(key) ?? { inFlight: 0, waiting: [] };
    const now = this.tryGrant(key, state, true);
    if (now !== undefined) return this.forget(key, state, now);
    if (state.waiting.length >= this.limits.maxWaiting || signal?.aborted) {
      return this.forget(key, state, this.busy());
    }
    this.states.set(key, state);
    return new Promise((resolve) => {
      const timer = setTimeout(() => leave(this.busy()), this.limits.maxWaitMs);
      timer.unref?.();
      const onAbort = () => leave(this.busy(0));
      const waiter: Waiter = {
        resolve,
        done: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      const leave = (refusal: ReserveRefusal) => {
        const at = state.waiting.indexOf(waiter);
        if (at < 0) return;
        state.waiting.splice(at, 1);
        waiter.done();
        resolve(this.forget(key, state, refusal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      state.waiting.push(waiter);
    });
  }

  /**
   * A grant when the budget has a whole token beyond the checks in flight (and, for a newcomer, no one
   * waits before it); a refusal when the budget is spent; else undefined (wait).
   */
  private tryGrant(
    key: string,
    state: AddressState,
    newcomer: boolean,
  ): Reserved | ReserveRefusal | undefined {
    const tokens = this.budget.tokens(key);
    if (tokens < 1 - EPSILON) {
      return { ok: false, reason: 'spent', retryAfterMs: Math.max(1, this.budget.blockedFor(key)) };
    }
    if ((newcomer && state.waiting.length > 0) || state.inFlight + 1 > tokens + EPSILON) return undefined;
    state.inFlight++;
    this.states.set(key, state);
    let settled = false;
    return {
      ok: true,
      settle: () => {
        if (settled) return;
        settled = true;
        state.inFlight--;
        this.pump(key, state);
      },
    };
  }

  /** After a check settled: lets waiting CONNECTs in while the budget allows, or refuses them all. */
  private pump(key: string, state: AddressState): void {
    while (state.waiting.length > 0) {
      const result = this.tryGrant(key, state, false);
      if (result === undefined) break;
      const head = state.waiting.shift()!;
      head.done();
      head.resolve(result);
    }
    this.forget(key, state);
  }

  private forget<T>(key: string, state: AddressState, result?: T): T {
    if (state.inFlight === 0 && state.waiting.length === 0) this.states.delete(key);
    return result as T;
  }

  private busy(retryAfterMs = BUSY_RETRY_MS): ReserveRefusal {
    return { ok: false, reason: 'busy', retryAfterMs };
  }
}

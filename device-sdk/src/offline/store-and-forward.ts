/**
 * Store and forward (docs/device-sdk.md "Offline: the durable store"): escalations made while the
 * edge cannot be reached go to a durable queue, are sent oldest first once it can (a few at a time),
 * are sent again after a reconnect or when no reply comes (at least once), and are answered once per
 * request id: a reply completes the stored request on disk before it is handed on, so a second reply
 * to the same id — the edge answers every copy it receives — finds nothing and is ignored. A request
 * whose caller is gone (made before a restart) is answered through `onOrphan`. Nothing here touches
 * the disk directly: the queue comes in as a DurableQueue (Node: ./file-queue.ts).
 */
import { type ErrorCode, type FabricReply, FoglineError } from '@fogline/shared';
import type { EscalationSender, Outcome } from '../escalations.ts';
import type { ConnectionState } from '../transport/mqtt-transport.ts';
import type { StoredRequest } from './file-queue.ts';

/** What the forwarding needs of a durable queue (FileQueue implements it). */
export interface DurableQueue {
  readonly size: number;
  readonly bytes: number;
  readonly skippedLines: number;
  /** Oldest first; iterated lazily, so a pump stops at its window without reading the rest. */
  pending(): IterableIterator<StoredRequest>;
  has(id: string): boolean;
  append(request: StoredRequest): void;
  complete(id: string, why: 'answered' | 'expired'): boolean;
  expire(): StoredRequest[];
  close(): void;
}

export interface StoreAndForwardOptions {
  queue: DurableQueue;
  sender: EscalationSender;
  /** How long a stored request waits for its answer, ms. */
  ttlMs: number;
  /** Wall clock, ms since the epoch (expiries survive a restart). Default Date.now. */
  now?: () => number;
  /** Answer (or expiry) of a request nobody in this process waits for: made before a restart. */
  onOrphan(requestId: string, outcome: Outcome): void;
  /** Expiry and re-send checks, ms. Default 500. */
  sweepMs?: number;
  /** Most stored requests sent and not yet answered. Default 16. */
  window?: number;
  /** No reply this long after a request's budget: it is sent again. Default 2000 ms. */
  resendSlackMs?: number;
}

export interface StoreCounts {
  /** Requests now in the store, and its bytes on disk. */
  queued: number;
  bytes: number;
  /** Stored since the start; found in the store at start (replayed); refused by the byte cap. */
  stored: number;
  replayed: number;
  refused: number;
  /** Sends, first or again; requests answered; requests dropped at their TTL. */
  sent: number;
  answered: number;
  expired: number;
}

interface Waiter {
  resolve(outcome: Outcome): void;
  reject(error: FoglineError): void;
}

/** Error replies worth sending again later: the edge is busy, not the request wrong. */
const TRANSIENT: readonly ErrorCode[] = ['RATE_LIMITED', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE'];
const TRANSIENT_WAIT_MS = 1_000;

export class StoreAndForward {
  readonly #queue: DurableQueue;
  readonly #options: StoreAndForwardOptions;
  readonly #now: () => number;
  readonly #waiters = new Map<string, Waiter>();
  /** Sent and not answered: id → when, and its budget (no reply by then + slack: sent again). */
  readonly #sentAt = new Map<string, { at: number; budgetMs: number }>();
  /** After a busy reply: id → not sent again before then. */
  readonly #holdUntil = new Map<string, number>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #counts: Omit<StoreCounts, 'queued' | 'bytes'>;
  #closed = false;

  constructor(options: StoreAndForwardOptions) {
    this.#options = options;
    this.#queue = options.queue;
    this.#now = options.now ?? Date.now;
    const replayed = this.#queue.size;
    this.#counts = { stored: 0, replayed, refused: 0, sent: 0, answered: 0, expired: 0 };
    this.#timer = setInterval(() => this.#sweep(), options.sweepMs ?? 500);
    this.#timer.unref?.();
  }

  /** Requests in the store; while there are any, new escalations queue behind them (order kept). */
  get backlog(): number {
    return this.#queue.size;
  }

  /** Whether a new escalation goes to the store: not online, or older requests still stored (order kept). */
  takes(state: ConnectionState): boolean {
    return state !== 'online' || this.#queue.size > 0;
  }

  counts(): StoreCounts {
    return { queued: this.#queue.size, bytes: this.#queue.bytes, ...this.#counts };
  }

  /**
   * Stores request `id` (the encoded fabric request, `budgetMs` for the edge on each attempt) for
   * the TTL and resolves with its outcome; rejects with DEADLINE_EXCEEDED at its TTL, UNAVAILABLE
   * when the device closes first (it stays stored). Throws RESOURCE_EXHAUSTED, nothing stored, past
   * the byte cap.
   */
  enqueue(id: string, budgetMs: number, payload: Uint8Array): Promise<Outcome> {
    if (this.#closed) throw new FoglineError('UNAVAILABLE', 'durable queue is closed');
    try {
      this.#queue.append({ id, expiresAt: this.#now() + this.#options.ttlMs, budgetMs, payload });
    } catch (err) {
      if (err instanceof FoglineError && err.code === 'RESOURCE_EXHAUSTED') this.#counts.refused++;
      throw err;
    }
    this.#counts.stored++;
    const outcome = new Promise<Outcome>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
    this.pump();
    return outcome;
  }

  /** A reply for a stored request: completes it (on disk first) and hands it on; false when not ours. */
  onReply(reply: FabricReply): boolean {
    if (!this.#queue.has(reply.id)) return false;
    this.#sentAt.delete(reply.id);
    if (!reply.ok && TRANSIENT.includes(reply.code)) {
      const waitMs =
        reply.code === 'RATE_LIMITED' ? (reply.retryAfterMs ?? TRANSIENT_WAIT_MS) : TRANSIENT_WAIT_MS;
      this.#holdUntil.set(reply.id, this.#now() + waitMs);
      return true;
    }
    this.#queue.complete(reply.id, 'answered');
    this.#holdUntil.delete(reply.id);
    this.#counts.answered++;
    this.#deliver(
      reply.id,
      reply.ok ? { kind: 'reply', reply } : { kind: 'fallback', code: reply.code, message: reply.message },
    );
    this.pump();
    return true;
  }

  /** Sends stored requests, oldest first, up to the window; nothing while offline. */
  pump(): void {
    if (this.#closed || !this.#options.sender.isOnline()) return;
    const window = this.#options.window ?? 16;
    const now = this.#now();
    for (const request of this.#queue.pending()) {
      if (this.#sentAt.size >= window) return;
      if (this.#sentAt.has(request.id) || (this.#holdUntil.get(request.id) ?? 0) > now) continue;
      this.#holdUntil.delete(request.id);
      this.#sentAt.set(request.id, { at: now, budgetMs: request.budgetMs });
      this.#counts.sent++;
      this.#options.sender.send(request.payload).catch(() => {
        this.#sentAt.delete(request.id); // sent again on the next reconnect or sweep
      });
    }
  }

  /**
   * Online: send what is stored. Offline or refused: replies to what was sent cannot come any more
   * (clean session), so it is sent again after the next connection.
   */
  onStateChange(state: ConnectionState): void {
    if (state === 'online') this.pump();
    else if (state === 'offline' || state === 'refused') this.#sentAt.clear();
  }

  /** Stops; callers still waiting get UNAVAILABLE, their requests stay stored for the next start. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    const error = new FoglineError(
      'UNAVAILABLE',
      'device closed before the edge replied; the request stays in the durable queue and is answered through onAnswer after the next start',
    );
    for (const waiter of this.#waiters.values()) waiter.reject(error);
    this.#waiters.clear();
    this.#queue.close();
  }

  #sweep(): void {
    if (this.#closed) return;
    for (const request of this.#queue.expire()) {
      this.#sentAt.delete(request.id);
      this.#holdUntil.delete(request.id);
      this.#counts.expired++;
      this.#deliver(
        request.id,
        {
          kind: 'fallback',
          code: 'DEADLINE_EXCEEDED',
          message: `request ${request.id} expired in the durable queue before the edge answered it`,
        },
        true,
      );
    }
    const slackMs = this.#options.resendSlackMs ?? 2_000;
    const now = this.#now();
    for (const [id, sent] of this.#sentAt) {
      if (now - sent.at > sent.budgetMs + slackMs) this.#sentAt.delete(id); // no reply: sent again below
    }
    this.pump();
  }

  /** To the caller waiting in this process (an expiry rejects its call), else to onOrphan. */
  #deliver(id: string, outcome: Outcome, expired = false): void {
    const waiter = this.#waiters.get(id);
    this.#waiters.delete(id);
    if (waiter === undefined) this.#options.onOrphan(id, outcome);
    else if (expired && outcome.kind === 'fallback')
      waiter.reject(new FoglineError(outcome.code, outcome.message));
    else waiter.resolve(outcome);
  }
}

/**
 * Store and forward (docs/device-sdk.md "Offline: the durable store"): escalations made while the
 * edge cannot be reached go to a durable queue, are sent oldest first once it can (a few at a time),
 * are sent again after a reconnect or when no reply comes (at least once), and are answered once per
 * request id: a reply completes the stored request on disk before it is handed on, so a second reply
 * to the same id — the edge answers every copy it receives — finds nothing and is ignored. A request
 * whose caller is gone (made before a restart) is answered through `onOrphan`. A request is sent only
 * once its `put` line is synced (`queue.synced()`), so a request the edge may have answered is always
 * on disk; a `done` line is written before the answer is handed on and synced with the next group. A
 * put whose sync fails fails its call with that error, as a failed write does. `onOrphan` is the
 * application's code, called from the sweep's timer and from a reply's MQTT callback: what it throws
 * is counted and handed to `onCallbackError`, never thrown there (it would crash the process, and
 * stop the entries after it). Nothing here touches the disk directly: the queue comes in as a
 * DurableQueue (Node: ./file-queue.ts).
 */
import { type ErrorCode, type FabricReply, FoglineError, fromUnknown } from '@fogline/shared';
import type { EscalationSender, Outcome } from '../escalations.ts';
import type { ConnectionState } from '../transport/mqtt-transport.ts';
import type { DoneReason, StoredRequest } from './queue-record.ts';

/** What the forwarding needs of a durable queue (FileQueue implements it). */
export interface DurableQueue {
  readonly size: number;
  readonly bytes: number;
  readonly skippedLines: number;
  /** Oldest first; iterated lazily, so a pump stops at its window without reading the rest. */
  pending(): IterableIterator<StoredRequest>;
  has(id: string): boolean;
  /** Writes a `put` line; durable once `synced()` resolves. */
  append(request: StoredRequest): void;
  /** Writes a `done` line; durable once `synced()` resolves. */
  complete(id: string, why: DoneReason): boolean;
  /** Writes `done` lines for the expired requests; a write error stops it, the rest still pending. */
  expire(): { expired: StoredRequest[]; error?: Error };
  /** Resolves once every line written so far is on disk; rejects with the sync's error. */
  synced(): Promise<void>;
  /** Syncs what is not synced yet, then closes. */
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
  /**
   * `onOrphan` threw (counted in `callbackErrors`): the error, as a FoglineError (INTERNAL, `cause`
   * the value thrown, unless it threw a FoglineError). The request is done all the same; the others
   * go on. What this throws in turn is ignored.
   */
  onCallbackError?(requestId: string, error: FoglineError): void;
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
  /**
   * Lines of the store that could not be written or synced (EIO, ENOSPC, …): a `put`'s call rejects
   * with the error (nothing sent); a `done` line's request stays stored when its write failed (an
   * answer is not handed on and the request sent again, an expiry tried again, at the next sweep), and
   * may be sent and answered again after a restart when its sync failed.
   */
  diskErrors: number;
  /** Answers (or expiries) handed to `onOrphan` that threw: the request is done, the others go on. */
  callbackErrors: number;
}

interface Waiter {
  resolve(outcome: Outcome): void;
  reject(error: Error): void;
}

/** Error replies worth sending again later: the edge is busy, not the request wrong. */
const TRANSIENT: readonly ErrorCode[] = ['RATE_LIMITED', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE'];
const TRANSIENT_WAIT_MS = 1_000;
const CLOSED_MESSAGE =
  'device closed before the edge replied; the request stays in the durable queue and is answered through onAnswer after the next start';

export class StoreAndForward {
  readonly #queue: DurableQueue;
  readonly #options: StoreAndForwardOptions;
  readonly #now: () => number;
  readonly #waiters = new Map<string, Waiter>();
  /** Sent and not answered: id → when, and its budget (no reply by then + slack: sent again). */
  readonly #sentAt = new Map<string, { at: number; budgetMs: number }>();
  /** After a busy reply: id → not sent again before then. */
  readonly #holdUntil = new Map<string, number>();
  /** Stored, their `put` line not synced yet: not sent before. */
  readonly #unsynced = new Set<string>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #counts: Omit<StoreCounts, 'queued' | 'bytes'>;
  #closed = false;

  constructor(options: StoreAndForwardOptions) {
    this.#options = options;
    this.#queue = options.queue;
    this.#now = options.now ?? Date.now;
    const replayed = this.#queue.size;
    this.#counts = {
      stored: 0,
      replayed,
      refused: 0,
      sent: 0,
      answered: 0,
      expired: 0,
      diskErrors: 0,
      callbackErrors: 0,
    };
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
   * when the device closes first (it stays stored), the disk's error when its line cannot be synced
   * (nothing sent). Throws RESOURCE_EXHAUSTED, nothing stored, past the byte cap, and the disk's error
   * when its line cannot be written.
   */
  enqueue(id: string, budgetMs: number, payload: Uint8Array): Promise<Outcome> {
    if (this.#closed) throw new FoglineError('UNAVAILABLE', 'durable queue is closed');
    try {
      this.#queue.append({ id, expiresAt: this.#now() + this.#options.ttlMs, budgetMs, payload });
    } catch (err) {
      if (err instanceof FoglineError && err.code === 'RESOURCE_EXHAUSTED') this.#counts.refused++;
      else if (!(err instanceof FoglineError)) this.#counts.diskErrors++;
      throw err;
    }
    this.#counts.stored++;
    const outcome = new Promise<Outcome>((resolve, reject) => this.#waiters.set(id, { resolve, reject }));
    this.#unsynced.add(id);
    this.#queue.synced().then(
      () => {
        this.#unsynced.delete(id);
        if (this.#closed) this.#settleClosed(id);
        else this.pump();
      },
      (err: Error) => this.#putFailed(id, err),
    );
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
    if (!this.#done(reply.id, 'answered')) return true; // still stored: sent again by a later sweep
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
      if (this.#sentAt.size >= window || this.#unsynced.has(request.id)) return; // in order, once synced
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

  /**
   * Stops; the queue syncs what is not synced yet. Callers still waiting get UNAVAILABLE, their
   * requests stay stored for the next start (those whose line the closing sync failed get its error).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#queue.close();
    for (const id of this.#waiters.keys()) if (!this.#unsynced.has(id)) this.#settleClosed(id);
  }

  /** A caller still waiting at close: its request stays stored. */
  #settleClosed(id: string): void {
    const waiter = this.#waiters.get(id);
    this.#waiters.delete(id);
    waiter?.reject(new FoglineError('UNAVAILABLE', CLOSED_MESSAGE));
  }

  /**
   * A `put` line that could not be synced: the request may not be on disk, so it is never sent; its
   * call fails with the disk's error (as when its write fails), and a `done` line keeps a replay from
   * sending it should the line have reached the disk after all.
   */
  #putFailed(id: string, error: Error): void {
    this.#unsynced.delete(id);
    this.#counts.diskErrors++;
    try {
      if (!this.#closed) this.#queue.complete(id, 'failed');
    } catch {
      // The disk fails again: counted above; a replay may still find the request.
    }
    this.#waiters.get(id)?.reject(error);
    this.#waiters.delete(id);
  }

  /**
   * Writes a request's `done` line (before its answer is handed on: a second reply, or a restart after
   * a crash of this process, finds it done); false when the line cannot be written: counted, never
   * thrown (a reply comes on the MQTT client's callback), the request still stored, sent again by a
   * later sweep as when no reply came. A line that cannot be synced is counted: the answer is already
   * handed on, and a power loss may bring the request back (sent and answered again after the restart).
   */
  #done(id: string, why: DoneReason): boolean {
    try {
      this.#queue.complete(id, why);
    } catch (err) {
      if (!(err instanceof FoglineError)) this.#counts.diskErrors++;
      return false;
    }
    this.#queue.synced().catch(() => this.#counts.diskErrors++);
    return true;
  }

  /** On a timer: a disk error is counted, never thrown (the requests it left stored expire next time). */
  #sweep(): void {
    if (this.#closed) return;
    const { expired, error } = this.#queue.expire();
    if (error !== undefined) this.#counts.diskErrors++;
    if (expired.length > 0) this.#queue.synced().catch(() => (this.#counts.diskErrors += expired.length));
    for (const request of expired) {
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

  /**
   * To the caller waiting in this process (an expiry rejects its call), else to onOrphan. Never
   * throws: it runs on the sweep's timer and on a reply's MQTT callback.
   */
  #deliver(id: string, outcome: Outcome, expired = false): void {
    const waiter = this.#waiters.get(id);
    this.#waiters.delete(id);
    if (waiter === undefined) this.#orphan(id, outcome);
    else if (expired && outcome.kind === 'fallback')
      waiter.reject(new FoglineError(outcome.code, outcome.message));
    else waiter.resolve(outcome);
  }

  /** The application's callback: what it throws is counted and told, not thrown. */
  #orphan(id: string, outcome: Outcome): void {
    try {
      this.#options.onOrphan(id, outcome);
    } catch (err) {
      this.#counts.callbackErrors++;
      try {
        this.#options.onCallbackError?.(id, fromUnknown(err));
      } catch {
        // Nowhere left to tell: counted above.
      }
    }
  }
}

/**
 * Requests the device has passed up to its edge and not yet answered: in flight (published, awaiting
 * the reply correlated by id) or queued while offline. Each one settles exactly once, with the edge's
 * reply or with a fallback reason, and never after its deadline (docs/design.md: "No request is ever
 * silently dropped: it gets an answer or an explicit error before its deadline").
 */
import type { Clock, ErrorCode, FabricReply } from '@fogline/shared';

export type Outcome =
  | { kind: 'reply'; reply: Extract<FabricReply, { ok: true }> }
  | { kind: 'fallback'; code: ErrorCode; message: string };

export interface EscalationSender {
  isOnline(): boolean;
  /** Publishes an encoded request (QoS 1); rejects when it cannot. */
  send(payload: Uint8Array): Promise<void>;
}

export interface EscalationsOptions {
  clock: Clock;
  /** While offline: answer locally at once ('local'), or hold the request until reconnected ('queue'). */
  offline: 'local' | 'queue';
  /** Most requests held while offline; beyond → local answer (RESOURCE_EXHAUSTED). */
  maxQueued: number;
  /** Less budget than this left → not worth sending. */
  minEscalationMs: number;
  sender: EscalationSender;
}

interface Entry {
  id: string;
  expiresAt: number;
  state: 'queued' | 'in-flight';
  /** Encodes the request with the budget left at the moment it is sent. */
  encode(remainingMs: number): Uint8Array;
  timer: ReturnType<typeof setTimeout>;
  /** Set while waiting out the broker's `retryAfterMs` before sending again (RATE_LIMITED). */
  retry?: ReturnType<typeof setTimeout>;
  resolve(outcome: Outcome): void;
}

export class Escalations {
  readonly #options: EscalationsOptions;
  /** Insertion order = FIFO order of the offline queue. */
  readonly #entries = new Map<string, Entry>();

  constructor(options: EscalationsOptions) {
    this.#options = options;
  }

  get queued(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.state === 'queued') n++;
    return n;
  }

  get inFlight(): number {
    return this.#entries.size - this.queued;
  }

  /** Sends (or queues) request `id`; resolves with its outcome within `remainingMs`. */
  start(id: string, remainingMs: number, encode: (remainingMs: number) => Uint8Array): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => {
        const entry = this.#entries.get(id);
        if (!entry) return;
        this.#settle(id, {
          kind: 'fallback',
          ...(entry.state === 'queued'
            ? { code: 'UNAVAILABLE', message: 'not connected to the edge broker before the deadline' }
            : {
                code: 'DEADLINE_EXCEEDED',
                message: `no reply from the edge within ${Math.round(remainingMs)} ms`,
              }),
        });
      }, remainingMs);
      const expiresAt = this.#options.clock.now() + remainingMs;
      const entry: Entry = { id, expiresAt, state: 'queued', encode, timer, resolve };
      this.#entries.set(id, entry);
      if (this.#options.sender.isOnline()) this.#send(entry);
      else this.#holdOrFallBack(entry, 'not connected to the edge broker');
    });
  }

  /** Matches a reply to its request; false when nobody waits for it (late or unknown). */
  onReply(reply: FabricReply): boolean {
    const entry = this.#entries.get(reply.id);
    if (!entry) return false;
    if (!reply.ok && reply.code === 'RATE_LIMITED' && this.#retryLater(entry, reply.retryAfterMs))
      return true;
    this.#settle(
      reply.id,
      reply.ok ? { kind: 'reply', reply } : { kind: 'fallback', code: reply.code, message: reply.message },
    );
    return true;
  }

  /** Connected again: send what was held, oldest first. */
  onOnline(): void {
    for (const entry of [...this.#entries.values()]) if (entry.state === 'queued') this.#send(entry);
  }

  /**
   * Connection lost: replies to in-flight requests cannot arrive any more (clean session), so they are
   * held again (queue mode) or answered locally.
   */
  onOffline(): void {
    for (const entry of [...this.#entries.values()]) {
      if (entry.state !== 'in-flight') continue;
      entry.state = 'queued';
      this.#entries.delete(entry.id); // re-insert at the back of the FIFO
      this.#entries.set(entry.id, entry);
      this.#holdOrFallBack(entry, 'connection to the edge broker lost');
    }
  }

  /** Settles everything (device closing). */
  settleAll(code: ErrorCode, message: string): void {
    for (const id of [...this.#entries.keys()]) this.#settle(id, { kind: 'fallback', code, message });
  }

  /**
   * The broker refused the publish over this device's rate and said when a re-send would pass: wait
   * that long and send again while the deadline leaves room for it (a burst of escalations is paced,
   * not answered degraded at once); false when it does not, or the reply names no wait.
   */
  #retryLater(entry: Entry, retryAfterMs: number | undefined): boolean {
    if (retryAfterMs === undefined || entry.state !== 'in-flight') return false;
    const waitMs = Math.max(1, Math.ceil(retryAfterMs));
    const { clock, minEscalationMs, sender } = this.#options;
    if (entry.expiresAt - clock.now() - waitMs < minEscalationMs) return false;
    entry.state = 'queued';
    entry.retry = setTimeout(() => {
      entry.retry = undefined;
      if (this.#entries.get(entry.id) !== entry || entry.state !== 'queued') return;
      if (sender.isOnline()) this.#send(entry);
      else this.#holdOrFallBack(entry, 'not connected to the edge broker');
    }, waitMs);
    return true;
  }

  #send(entry: Entry): void {
    if (entry.retry !== undefined) clearTimeout(entry.retry);
    entry.retry = undefined;
    const remainingMs = entry.expiresAt - this.#options.clock.now();
    if (remainingMs < this.#options.minEscalationMs) {
      this.#settle(entry.id, {
        kind: 'fallback',
        code: 'DEADLINE_EXCEEDED',
        message: 'too little budget left to send',
      });
      return;
    }
    entry.state = 'in-flight';
    let payload: Uint8Array;
    try {
      payload = entry.encode(remainingMs);
    } catch (err) {
      this.#settle(entry.id, {
        kind: 'fallback',
        code: 'INTERNAL',
        message: `cannot encode request: ${String(err)}`,
      });
      return;
    }
    this.#options.sender.send(payload).catch(() => {
      if (this.#entries.get(entry.id) !== entry || entry.state !== 'in-flight') return;
      entry.state = 'queued';
      this.#holdOrFallBack(entry, 'publishing to the edge broker failed');
    });
  }

  #holdOrFallBack(entry: Entry, why: string): void {
    const { offline, maxQueued } = this.#options;
    if (offline === 'queue' && this.queued <= maxQueued) return; // counted itself: <= keeps the bound
    const full = offline === 'queue';
    this.#settle(entry.id, {
      kind: 'fallback',
      code: full ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE',
      message: full ? `${why}; offline queue is full (${maxQueued})` : why,
    });
  }

  #settle(id: string, outcome: Outcome): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    clearTimeout(entry.timer);
    if (entry.retry !== undefined) clearTimeout(entry.retry);
    entry.resolve(outcome);
  }
}

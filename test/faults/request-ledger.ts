/**
 * The faults suite's books: every request a device made, how it ended and when, against the
 * invariant "exactly one answer or one explicit error before deadline + slack, no duplicates" (the
 * wire-level device, wire-device.ts, counts the replies per request id).
 */

export interface LedgerCounts {
  requests: number;
  /** Outcome ("edge", "cloud", "device degraded", "error <code>") → count. */
  outcomes: Record<string, number>;
  /** Settled after deadline + slack. */
  late: number;
  /** Never settled by the end of the run. */
  unsettled: number;
  /** Settled more than once (a promise cannot: kept for the wire device's count). */
  duplicates: number;
  maxMs: number;
}

export class RequestLedger {
  #pending = 0;
  readonly counts: LedgerCounts = {
    requests: 0,
    outcomes: {},
    late: 0,
    unsettled: 0,
    duplicates: 0,
    maxMs: 0,
  };

  constructor(
    readonly deadlineMs: number,
    readonly slackMs: number,
  ) {}

  /** Runs one request; `run` resolves with its outcome's name or rejects with an explicit error. */
  async track(run: () => Promise<string>): Promise<string> {
    this.counts.requests++;
    this.#pending++;
    const started = performance.now();
    let outcome: string;
    try {
      outcome = await run();
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      outcome = `error ${typeof code === 'string' ? code : (err as Error).message}`;
    }
    this.#pending--;
    const ms = performance.now() - started;
    this.counts.maxMs = Math.max(this.counts.maxMs, Math.round(ms));
    if (ms > this.deadlineMs + this.slackMs) this.counts.late++;
    this.counts.outcomes[outcome] = (this.counts.outcomes[outcome] ?? 0) + 1;
    return outcome;
  }

  /** Closes the books: what is still pending is unsettled. */
  close(): LedgerCounts {
    this.counts.unsettled = this.#pending;
    return this.counts;
  }
}

/**
 * The device's report lane (docs/device-sdk.md "Reports", "Report budget"): what it sends on its
 * report topic (audits, feedback, score histograms, `device.report`), all of it QoS 0 and never
 * queued, within one budget below the edge broker's per-device report bucket (5/s, burst 20),
 * which drops what passes it. So that the edge drops none of the histograms drift detection needs,
 * a histogram never goes out over the budget: one that finds it empty waits for the next token (the
 * histogram keeps it, and windows cut meanwhile merge into it; no answer waits), and while one
 * waits, audits and feedback yield: the next token is the histogram's. Audits and feedback over the
 * budget are dropped before anything is built, and counted by their senders.
 */
import { type Clock, type DeviceReport, TokenBucket } from '@fogline/shared';

/**
 * Reports a device may send per second (and in a burst), by default: below the edge broker's report
 * bucket, so that the edge drops none of them. The `auditBudget` option sets it.
 */
export const DEFAULT_AUDIT_BUDGET = Object.freeze({ ratePerSec: 4, burst: 16 });

export interface ReportLaneOptions {
  /** Default DEFAULT_AUDIT_BUDGET. */
  readonly budget?: { readonly ratePerSec: number; readonly burst: number } | undefined;
  readonly clock?: Clock;
  /** Hands a report to the broker; false when it could not (offline, closed). */
  readonly publish: (report: DeviceReport) => boolean;
}

export class ReportLane {
  readonly #bucket: TokenBucket;
  readonly #publish: (report: DeviceReport) => boolean;
  /** Retries of the histograms waiting for a token, called when one is due. */
  readonly #waiting = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #sent = 0;
  #notSent = 0;

  constructor(options: ReportLaneOptions) {
    this.#bucket = new TokenBucket({
      ...(options.budget ?? DEFAULT_AUDIT_BUDGET),
      ...(options.clock && { clock: options.clock }),
    });
    this.#publish = options.publish;
  }

  /** Histograms and `device.report`s handed to the broker, and not (offline). */
  get counts(): { reportsSent: number; reportsNotSent: number } {
    return { reportsSent: this.#sent, reportsNotSent: this.#notSent };
  }

  /** A token for a report that may be dropped (an audit, feedback): none while a histogram waits. */
  trySpare(): boolean {
    return this.#waiting.size === 0 && this.#bucket.tryTake().ok;
  }

  /** The application's report: takes a spare token when there is one (audits yield), sent either way. */
  report(report: DeviceReport): boolean {
    this.trySpare();
    return this.#counted(report);
  }

  /**
   * A score histogram: sent with a token of the budget. Without one, false: the histogram keeps it,
   * and `retry` is called once a token is due (the same `retry` waits once). Once closed, sent at
   * once: a closing device's last histograms go out best effort.
   */
  readonly histogram = (report: DeviceReport, retry: () => void): boolean => {
    if (!this.#closed) {
      const take = this.#bucket.tryTake();
      if (!take.ok) {
        this.#waiting.add(retry);
        this.#timer ??= setTimeout(() => this.#wake(), take.retryAfterMs);
        (this.#timer as { unref?: () => void }).unref?.();
        return false;
      }
      this.#waiting.delete(retry);
    }
    const sent = this.#counted(report);
    if (!sent && !this.#closed) this.#bucket.putBack(); // offline: sent with the next window
    return sent;
  };

  /** Stops waiting: every histogram waiting is sent now, and from now on at once. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #counted(report: DeviceReport): boolean {
    const sent = this.#publish(report);
    if (sent) this.#sent++;
    else this.#notSent++;
    return sent;
  }

  #wake(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const retry of waiting) retry();
  }
}

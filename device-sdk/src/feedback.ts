/**
 * Ground truth from the application (docs/device-sdk.md "Feedback"): `device.feedback(requestId,
 * label)` reports the true class of a request this device answered. The device keeps a bounded
 * window of its recent requests (count and age) — the input as the model consumed it and the
 * answers — so that it can send, later and on the report lane, the request as an audit body with
 * `source: 'feedback'` and the label. The edge adds its model's answer and the cloud its reference;
 * where the request was audited already the cloud joins the label to that audit's record instead.
 *
 * Feedback is a biased sample (the application chooses what it labels): it counts only as ground
 * truth, never in uniform measures, and its body says so (`source`, rate 1).
 */
import { type AuditBody, auditReport, type Clock, type DeviceReport, FoglineError } from '@fogline/shared';

/** How many recent requests, and for how long, `feedback` can still label. */
export const FEEDBACK_DEFAULTS = Object.freeze({ maxRequests: 1_000, maxAgeMs: 10 * 60_000 });

export interface FeedbackCounts {
  /** Feedback handed to the broker. */
  readonly sent: number;
  /** Not sent: offline, over the audit budget it shares, or a body the report channel refuses. */
  readonly notSent: number;
  /** Request ids not (or no longer) in the window: nothing sent (a documented no-op). */
  readonly unknownRequest: number;
  /** A second feedback for the same request: nothing sent (the first one stands). */
  readonly duplicate: number;
}

export interface FeedbackWindowOptions {
  /** 0: keeps nothing (every feedback is an unknown request). */
  readonly maxRequests: number;
  readonly maxAgeMs: number;
  readonly clock: Clock;
  /** Takes one token of the device's audit budget; false when there is none. */
  readonly takeBudget: () => boolean;
  /** Sends one report; false when it could not be handed to the broker. */
  readonly send: (report: DeviceReport) => boolean;
  /** Runs `task` later, off the caller's path (default: a 0 ms timer). */
  readonly defer?: (task: () => void) => void;
}

interface Recent {
  readonly at: number;
  /** The request's audit body, without source and label (built lazily from values that no longer change). */
  readonly body: () => AuditBody;
  labelled: boolean;
}

export class FeedbackWindow {
  readonly #o: FeedbackWindowOptions;
  /** By request id, oldest first (a Map keeps insertion order). */
  readonly #recent = new Map<string, Recent>();
  #sent = 0;
  #notSent = 0;
  #unknownRequest = 0;
  #duplicate = 0;

  constructor(options: FeedbackWindowOptions) {
    this.#o = options;
  }

  get counts(): FeedbackCounts {
    return {
      sent: this.#sent,
      notSent: this.#notSent,
      unknownRequest: this.#unknownRequest,
      duplicate: this.#duplicate,
    };
  }

  /** Remembers an answered request (oldest dropped past the count or age bound). */
  remember(requestId: string, body: () => AuditBody): void {
    this.#recent.set(requestId, { at: this.#o.clock.now(), body, labelled: false });
    this.#evict();
  }

  /**
   * Sends the feedback of `requestId` with class index `label` (already checked against the model);
   * false when nothing was sent: an unknown or expired id, a duplicate (both counted).
   */
  give(requestId: string, label: number): boolean {
    this.#evict();
    const recent = this.#recent.get(requestId);
    if (!recent) {
      this.#unknownRequest++;
      return false;
    }
    if (recent.labelled) {
      this.#duplicate++;
      return false;
    }
    recent.labelled = true;
    if (!this.#o.takeBudget()) {
      this.#notSent++;
      return false;
    }
    (this.#o.defer ?? ((task) => setTimeout(task, 0)))(() => {
      let sent = false;
      try {
        sent = this.#o.send(auditReport({ ...recent.body(), rate: 1, source: 'feedback', label }));
      } catch {
        sent = false;
      }
      if (sent) this.#sent++;
      else this.#notSent++;
    });
    return true;
  }

  #evict(): void {
    const oldest = this.#o.clock.now() - this.#o.maxAgeMs;
    for (const [id, recent] of this.#recent) {
      if (this.#recent.size <= this.#o.maxRequests && recent.at >= oldest) break;
      this.#recent.delete(id);
    }
  }
}

/**
 * The class index of a label given as an index or as one of the config's `labels`; INVALID_ARG for
 * anything else, naming what the model accepts.
 */
export function classIndexOf(label: unknown, classes: number, labels: readonly string[]): number {
  if (typeof label === 'number') {
    if (Number.isInteger(label) && label >= 0 && label < classes) return label;
    throw new FoglineError(
      'INVALID_ARG',
      `feedback: label ${label} is not a class index of this model (0–${classes - 1})`,
    );
  }
  if (typeof label === 'string') {
    const index = labels.indexOf(label);
    if (index >= 0 && index < classes) return index;
    throw new FoglineError(
      'INVALID_ARG',
      labels.length === 0
        ? `feedback: label "${label.slice(0, 40)}" given by name, but the model's config names no labels`
        : `feedback: "${label.slice(0, 40)}" is not one of the model's labels`,
    );
  }
  throw new FoglineError('INVALID_ARG', 'feedback: label must be a class index or a label name');
}

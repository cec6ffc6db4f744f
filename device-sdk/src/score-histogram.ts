/**
 * The device's score histograms (docs/device-sdk.md "Score histograms"; docs/field-accuracy.md
 * "Drift"): when the model's config has a `drift` block, every inference's routing score (the block's
 * score kind) is counted into the block's bins, and the window goes to the edge as a `histogram`
 * report every `everyRequests` inferences or `everyMs`, whichever comes first. Sending happens on a
 * timer, never inside `infer`: an answer never waits for it. A window the device could not hand to
 * the broker (offline) is kept and sent with the next one.
 */
import {
  binOf,
  type DeviceReport,
  type DriftReference,
  histogramReportBody,
  type ScoreKind,
} from '@fogline/shared';

/** When a device sends its histogram, unless told otherwise. */
export const HISTOGRAM_DEFAULTS = Object.freeze({ everyRequests: 500, everyMs: 10_000 });

export interface ScoreHistogramOptions {
  readonly reference: DriftReference;
  /** `name:version` of the drift reference's model. */
  readonly model: string;
  /** Wall clock in ms for the window times. Default Date.now. */
  readonly now?: () => number;
  readonly everyRequests: number;
  readonly everyMs: number;
  /** Hands a report to the broker; false when it could not (offline). */
  readonly send: (report: DeviceReport) => boolean;
}

export class ScoreHistogram {
  readonly #options: ScoreHistogramOptions;
  readonly #now: () => number;
  #counts: number[];
  #count = 0;
  #startMs = 0;
  #timer: ReturnType<typeof setInterval>;
  #flushScheduled = false;

  constructor(options: ScoreHistogramOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#counts = new Array<number>(options.reference.bins.length - 1).fill(0);
    this.#timer = setInterval(() => this.flush(), options.everyMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** The score kind the reference counts (may differ from the routing policy's at run time). */
  get score(): ScoreKind {
    return this.#options.reference.score;
  }

  /** Counts one inference's score; a full window is sent on the next turn of the event loop. */
  add(score: number): void {
    if (Number.isNaN(score)) return;
    if (this.#count === 0) this.#startMs = Math.floor(this.#now());
    this.#counts[binOf(score, this.#options.reference.bins)]!++;
    this.#count++;
    if (this.#count >= this.#options.everyRequests && !this.#flushScheduled) {
      this.#flushScheduled = true;
      setTimeout(() => {
        this.#flushScheduled = false;
        this.flush();
      }, 0);
    }
  }

  /** Sends the window if it holds anything; kept for the next one when it could not be sent. */
  flush(): void {
    if (this.#count === 0) return;
    const { reference, model, send } = this.#options;
    const body = histogramReportBody({
      model,
      score: reference.score,
      bins: reference.bins,
      counts: this.#counts,
      count: this.#count,
      window_start_ms: this.#startMs,
      window_end_ms: Math.max(this.#startMs, Math.floor(this.#now())),
    });
    if (!send({ kind: 'histogram', body })) return;
    this.#counts = this.#counts.map(() => 0);
    this.#count = 0;
  }

  /** Sends what is left (best effort) and stops the timer. */
  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}

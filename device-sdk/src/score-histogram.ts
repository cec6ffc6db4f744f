/**
 * The device's score histograms (docs/device-sdk.md "Score histograms"; docs/field-accuracy.md
 * "Drift"): when the model's config has a `drift` block, every inference's routing score (the block's
 * score kind) is counted into the block's bins, and the window goes to the edge as a `histogram`
 * report of exactly `everyRequests` inferences, or of what there is every `everyMs`. Sending happens on a
 * timer, never inside `infer`: an answer never waits for it. A window the device could not hand to
 * the broker (offline) is kept and sent with the next one; one held back for the device's report
 * budget (report-budget.ts) is kept and sent when the sender calls back, windows cut meanwhile
 * merged into it: no inference is ever left out.
 */
import {
  binOf,
  type DeviceReport,
  type DriftReference,
  driftModelOf,
  histogramReportBody,
  type ScoreKind,
} from '@fogline/shared';
import type { DeviceSettings } from './device-options.ts';
import type { LoadedModel } from './model-slot.ts';

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
  /**
   * Hands a report to the broker; false when it could not (offline), or not yet (the report budget:
   * then it calls `retry` once it can, and the report is sent again with what was cut since).
   */
  readonly send: (report: DeviceReport, retry: () => void) => boolean;
}

interface Window {
  readonly counts: number[];
  count: number;
  startMs: number;
  endMs: number;
}

export class ScoreHistogram {
  readonly #options: ScoreHistogramOptions;
  readonly #now: () => number;
  /** The window being counted. */
  #open: Window;
  /** Cut and not yet handed to the broker (windows cut while offline are merged into it). */
  #pending: Window | undefined;
  #timer: ReturnType<typeof setInterval>;
  #sendScheduled = false;
  /** Sends what is pending, without cutting the open window (the sender's call back). */
  readonly #retry = () => this.#send();

  constructor(options: ScoreHistogramOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#open = this.#emptyWindow();
    this.#timer = setInterval(() => this.flush(), options.everyMs);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** The score kind the reference counts (may differ from the routing policy's at run time). */
  get score(): ScoreKind {
    return this.#options.reference.score;
  }

  /** Counts one inference's score; every `everyRequests` the window is cut and sent on the next turn. */
  add(score: number): void {
    if (Number.isNaN(score)) return;
    const open = this.#open;
    if (open.count === 0) open.startMs = Math.floor(this.#now());
    open.counts[binOf(score, this.#options.reference.bins)]!++;
    open.count++;
    if (open.count < this.#options.everyRequests) return;
    this.#cut();
    if (this.#sendScheduled) return;
    this.#sendScheduled = true;
    setTimeout(() => {
      this.#sendScheduled = false;
      this.#send();
    }, 0);
  }

  /** Cuts the open window if it holds anything and sends what is pending. */
  flush(): void {
    if (this.#open.count > 0) this.#cut();
    this.#send();
  }

  /** Sends what is left (best effort) and stops the timer. */
  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }

  #emptyWindow(): Window {
    return {
      counts: new Array<number>(this.#options.reference.bins.length - 1).fill(0),
      count: 0,
      startMs: 0,
      endMs: 0,
    };
  }

  #cut(): void {
    const open = this.#open;
    open.endMs = Math.max(open.startMs, Math.floor(this.#now()));
    this.#open = this.#emptyWindow();
    const pending = this.#pending;
    if (pending === undefined) {
      this.#pending = open;
      return;
    }
    open.counts.forEach((c, i) => {
      pending.counts[i]! += c;
    });
    pending.count += open.count;
    pending.endMs = open.endMs;
  }

  #send(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    const { reference, model, send } = this.#options;
    const body = histogramReportBody({
      model,
      score: reference.score,
      bins: reference.bins,
      counts: pending.counts,
      count: pending.count,
      window_start_ms: pending.startMs,
      window_end_ms: pending.endMs,
    });
    if (send({ kind: 'histogram', body }, this.#retry)) this.#pending = undefined;
  }
}

/** Histograms on the config's drift reference, when it is for the model this device runs. */
export function scoreHistogramOf(
  loaded: LoadedModel,
  settings: Pick<DeviceSettings, 'driftHistogram'>,
  send: ScoreHistogramOptions['send'],
): ScoreHistogram | undefined {
  const reference = loaded.model.config.drift;
  const when = settings.driftHistogram;
  if (!reference || !when || driftModelOf(reference) !== loaded.modelVersion) return undefined;
  return new ScoreHistogram({ reference, model: loaded.modelVersion, ...when, send });
}

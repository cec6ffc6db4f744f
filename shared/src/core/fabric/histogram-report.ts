/**
 * The body of a `histogram` report (report-message.ts; docs/field-accuracy.md "Drift"): how many of
 * a device's inferences fell in each bin of its model's drift reference, over one window. UTF-8 JSON
 * inside the report envelope:
 *
 *   { "kind": "histogram", "body": { "model": "digits-tiny:1", "score": "margin",
 *     "bins": [0, 0.78, ..., 1], "counts": [52, 49, ...], "count": 500,
 *     "window_start_ms": 1765000000000, "window_end_ms": 1765000004000 } }
 *
 * `model` is the `name:version` of the drift reference the scores were binned on, `bins` its edges,
 * `count` the sum of `counts`; the window times are the device's wall clock in ms. A reader checks
 * the body against the reference it compares with (same model, score kind and bins) and refuses,
 * with a stable code, anything else: the receiver counts it and leaves its state as it was.
 */
import { FoglineError } from '../errors.ts';
import type { DriftReference } from '../field/drift-reference.ts';
import { isModelLabel } from '../names.ts';
import { isScoreKind, SCORE_KINDS, type ScoreKind } from '../routing/score-kind.ts';

export interface HistogramReport {
  /** `name:version` of the model whose routing scores were counted (the drift reference's). */
  readonly model: string;
  readonly score: ScoreKind;
  /** The drift reference's bin edges. */
  readonly bins: readonly number[];
  /** Inferences per bin: bins.length − 1 non-negative integers. */
  readonly counts: readonly number[];
  /** Sum of `counts`, at least 1. */
  readonly count: number;
  readonly window_start_ms: number;
  readonly window_end_ms: number;
}

/** Why a histogram was refused: a stable code (for counters) and a sentence. */
export type HistogramRefusal = 'malformed' | 'other-model' | 'other-score' | 'other-bins';

export type HistogramReading =
  | { readonly ok: true; readonly histogram: HistogramReport }
  | { readonly ok: false; readonly code: HistogramRefusal; readonly reason: string };

/** `name:version` of the model a drift reference describes. */
export function driftModelOf(reference: Pick<DriftReference, 'model' | 'version'>): string {
  return `${reference.model}:${reference.version}`;
}

const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks a body before it is sent (a sender never sends what its own receiver refuses). */
export function histogramReportBody(histogram: HistogramReport): Record<string, unknown> {
  const body = { ...histogram, bins: [...histogram.bins], counts: [...histogram.counts] };
  const reading = readHistogramReport(body);
  if (!reading.ok) throw new FoglineError('INVALID_ARG', `histogram report: ${reading.reason}`);
  return body;
}

/**
 * Reads an untrusted histogram body; with `reference`, also refuses one for another model, score
 * kind or bins than the reference's.
 */
export function readHistogramReport(body: unknown, reference?: DriftReference): HistogramReading {
  const refuse = (reason: string, code: HistogramRefusal = 'malformed'): HistogramReading => ({
    ok: false,
    code,
    reason,
  });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse('not an object');
  const b = body as Record<string, unknown>;
  const { model, score, bins, counts, count } = b;
  const start = b.window_start_ms;
  const end = b.window_end_ms;
  if (!isModelLabel(model)) {
    return refuse('"model" must be "name:version"');
  }
  if (!isScoreKind(score)) return refuse(`"score" must be one of ${SCORE_KINDS.join(', ')}`);
  if (
    !Array.isArray(bins) ||
    bins.length < 2 ||
    bins.length > 1025 ||
    bins.some((e, i) => typeof e !== 'number' || !Number.isFinite(e) || (i > 0 && e <= bins[i - 1]))
  ) {
    return refuse('"bins" must be 2 to 1025 strictly increasing numbers');
  }
  if (!Array.isArray(counts) || counts.length !== bins.length - 1) {
    return refuse(`"counts" must hold one count per bin (${bins.length - 1})`);
  }
  if (!counts.every(isCount)) return refuse('"counts" must be integers >= 0');
  const sum = (counts as number[]).reduce((a, c) => a + c, 0);
  if (!Number.isSafeInteger(count) || count !== sum || sum < 1) {
    return refuse(`"count" must be the sum of "counts" (${sum}), at least 1`);
  }
  if (!isTime(start) || !isTime(end) || end < start) {
    return refuse('"window_start_ms" <= "window_end_ms" must be times in ms');
  }
  if (reference !== undefined) {
    const expected = driftModelOf(reference);
    if (model !== expected) return refuse(`it is for model "${model}", not "${expected}"`, 'other-model');
    if (score !== reference.score) {
      return refuse(`it counts ${score}, the reference ${reference.score}`, 'other-score');
    }
    if (bins.length !== reference.bins.length || bins.some((e, i) => e !== reference.bins[i])) {
      return refuse(
        `its ${bins.length - 1} bins are not the reference's ${reference.bins.length - 1}`,
        'other-bins',
      );
    }
  }
  const histogram: HistogramReport = {
    model,
    score,
    bins: Object.freeze([...(bins as number[])]),
    counts: Object.freeze([...(counts as number[])]),
    count: sum,
    window_start_ms: start,
    window_end_ms: end,
  };
  return { ok: true, histogram: Object.freeze(histogram) };
}

/**
 * The `drift` block of a model's config.json (docs/model-repository.md "drift"): the histogram of
 * the device model's routing score on the calibration split, on bins cut at its quantiles, written
 * by `fogline calibrate` into the device's config and the edge's. A device histograms its live
 * scores on these bins; the edge (and the cloud) compare each window with `reference` by PSI.
 */
import { isScoreKind, SCORE_KINDS, type ScoreKind } from '../routing/index.ts';

export interface DriftReference {
  /** Which routing score is histogrammed (the device policy's score kind when calibrated). */
  readonly score: ScoreKind;
  /** The model whose scores these are (the device model), and its version. */
  readonly model: string;
  readonly version: number;
  /** Bin edges, strictly increasing in [0, 1]: bin i holds bins[i] ≤ s < bins[i+1] (the last includes 1). */
  readonly bins: readonly number[];
  /** The share of the calibration samples in each bin; bins.length − 1 of them, summing to 1. */
  readonly reference: readonly number[];
  /** How many calibration samples the histogram counts. */
  readonly records: number;
  /** What the calibrated cascade measured on the same split: the controller's baseline (optional). */
  readonly baseline?: CascadeBaseline;
}

/**
 * The calibrated cascade on its calibration split, as F7's controller compares the field with it
 * (docs/field-accuracy.md "How the controller decides"). Shares in [0, 1].
 */
export interface CascadeBaseline {
  /** d0: share of samples where the chosen policy's answer differs from the cloud's (the reference). */
  readonly disagreement: number;
  /** Share of samples where the edge model's answer equals the cloud's. */
  readonly edgeAgreement: number;
  /** The cloud model's accuracy on the labelled split. */
  readonly cloudAccuracy: number;
  /**
   * The cloud model's own routing score (the kind the cloud stores in its audit records: its config's
   * `routing.score`) on the calibration split, binned at its quantiles: what the cloud's scores on the
   * audits are compared with to tell a weak reference. Written into the edge model's config only.
   */
  readonly cloudScores?: DriftReference;
}

const BASELINE_FIELDS = ['disagreement', 'edgeAgreement', 'cloudAccuracy'] as const;

/** Shares may be rounded when written by hand; they must sum to 1 within this. */
const SUM_TOLERANCE = 1e-6;

/** Reports the first problem with a field of the block (`score`, `bins`, ...; '' for the block itself); must throw. */
export type DriftFieldError = (field: string, problem: string) => never;

/** Validates an untrusted `drift` block; `fail` names the field in the caller's terms. */
export function parseDriftReference(raw: unknown, fail: DriftFieldError): DriftReference {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('', 'must be an object');
  const d = raw as Record<string, unknown>;
  if (!isScoreKind(d.score)) fail('score', `must be one of ${SCORE_KINDS.join(', ')}`);
  if (typeof d.model !== 'string' || d.model.length === 0) fail('model', 'must be a non-empty string');
  if (!Number.isInteger(d.version) || (d.version as number) < 1) fail('version', 'must be an integer >= 1');
  const bins = d.bins;
  if (
    !Array.isArray(bins) ||
    bins.length < 2 ||
    bins.some((b, i) => typeof b !== 'number' || !(b >= 0 && b <= 1) || (i > 0 && b <= bins[i - 1]))
  ) {
    fail('bins', 'must be at least 2 strictly increasing numbers in [0, 1]');
  }
  const edges = bins as number[];
  const reference = d.reference;
  if (!Array.isArray(reference) || reference.length !== edges.length - 1) {
    fail('reference', `must be an array of ${edges.length - 1} shares (one per bin: bins.length − 1)`);
  }
  const shares = reference as unknown[];
  if (shares.some((r) => typeof r !== 'number' || !(r >= 0 && r <= 1))) {
    fail('reference', 'must hold numbers in [0, 1]');
  }
  const sum = (shares as number[]).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > SUM_TOLERANCE) fail('reference', `must sum to 1, sums to ${sum}`);
  if (!Number.isInteger(d.records) || (d.records as number) < 1) fail('records', 'must be an integer >= 1');
  const baseline = d.baseline === undefined ? undefined : parseCascadeBaseline(d.baseline, fail);
  return Object.freeze({
    score: d.score as ScoreKind,
    model: d.model as string,
    version: d.version as number,
    bins: Object.freeze([...edges]),
    reference: Object.freeze([...(shares as number[])]),
    records: d.records as number,
    ...(baseline ? { baseline } : {}),
  });
}

function parseCascadeBaseline(raw: unknown, fail: DriftFieldError): CascadeBaseline {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return fail('baseline', 'must be an object');
  const b = raw as Record<string, unknown>;
  for (const field of BASELINE_FIELDS) {
    const v = b[field];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) fail(`baseline.${field}`, 'must be a number in [0, 1]');
  }
  let cloudScores: DriftReference | undefined;
  if (b.cloudScores !== undefined) {
    const failIn: DriftFieldError = (field, problem) =>
      fail(field === '' ? 'baseline.cloudScores' : `baseline.cloudScores.${field}`, problem);
    cloudScores = parseDriftReference(b.cloudScores, failIn);
    if (cloudScores.baseline !== undefined) failIn('baseline', 'is not allowed here');
  }
  return Object.freeze({
    disagreement: b.disagreement as number,
    edgeAgreement: b.edgeAgreement as number,
    cloudAccuracy: b.cloudAccuracy as number,
    ...(cloudScores ? { cloudScores } : {}),
  });
}

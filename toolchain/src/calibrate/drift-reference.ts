/**
 * The drift reference of a calibration (docs/field-accuracy.md "Drift"): the device model's routing
 * score on every calibration sample, binned at its own quantiles, as the `drift` block of a model's
 * config.json. Devices histogram their live scores on these bins; the edge compares by PSI.
 */
import {
  DEFAULT_BIN_COUNT,
  type DriftReference,
  fractionsOf,
  histogram,
  quantileEdges,
  type ScoreKind,
} from '@fogline/shared';

/** The model version the scores came from. */
export interface ScoredModel {
  readonly name: string;
  readonly version: number;
}

export function driftReferenceOf(
  scores: ArrayLike<number>,
  score: ScoreKind,
  model: ScoredModel,
  bins: number = DEFAULT_BIN_COUNT,
): DriftReference {
  const edges = quantileEdges(scores, bins);
  return {
    score,
    model: model.name,
    version: model.version,
    bins: edges,
    reference: fractionsOf(histogram(Array.from(scores), edges)),
    records: scores.length,
  };
}

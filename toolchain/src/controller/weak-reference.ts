/**
 * Is the reference (the cloud's large model) weak on this traffic? The controller trusts the cloud's
 * answers as truth, so before it pushes traffic up it checks the three signs that the cloud is no
 * better than the tiers below (docs/field-accuracy.md "How the controller decides"):
 *   1. ground truth, where the application gave some, shows the cloud well below its calibration accuracy;
 *   2. the cloud's own score distribution on the audits has drifted from its calibration histogram (PSI);
 *   3. edge–cloud agreement has collapsed against its calibration value.
 * Each is judged so that chance cannot fire it: 1 and 3 on the upper Wilson bound, 2 on enough records.
 */
import { binOf, type DriftReference, psi, tierAgreement, weightedWilsonInterval } from '@fogline/shared';
import type { FieldRecord } from './field-records.ts';
import type { ControllerKnobs } from './knobs.ts';

/** What the calibration measured that the weak-reference checks compare with; each optional. */
export interface ReferenceBaseline {
  /** The large model's accuracy on the labelled calibration split. */
  readonly cloudAccuracy?: number;
  /** Share of calibration samples where the edge model's answer equals the cloud's. */
  readonly edgeAgreement?: number;
  /** The cloud model's routing-score histogram on the calibration split (a `drift` block of its own). */
  readonly cloudScores?: DriftReference;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** Why the reference looks weak, or undefined when none of the checks fires. */
export function weakReference(
  records: readonly FieldRecord[],
  baseline: ReferenceBaseline,
  knobs: ControllerKnobs,
): string | undefined {
  if (baseline.cloudAccuracy !== undefined) {
    const truth = tierAgreement(records, 'cloud', { basis: 'ground-truth' });
    if (truth.n > 0 && truth.high < baseline.cloudAccuracy - knobs.referenceDrop) {
      return `ground truth on ${truth.n} records puts the cloud at ${pct(truth.estimate)} (at most ${pct(truth.high)}), calibration ${pct(baseline.cloudAccuracy)}`;
    }
  }
  if (baseline.cloudScores !== undefined && records.length >= knobs.minHistogramRecords) {
    const ref = baseline.cloudScores;
    const weights = new Array<number>(ref.reference.length).fill(0);
    for (const r of records) {
      const s = r.scores.cloud[ref.score];
      if (s !== undefined) weights[binOf(s, ref.bins)]! += 1 / r.p;
    }
    if (weights.some((w) => w > 0)) {
      const value = psi(ref.reference, weights);
      if (value > knobs.referencePsi) {
        return `the cloud's ${ref.score} scores on ${records.length} audits drifted from calibration (PSI ${value.toFixed(2)} > ${knobs.referencePsi})`;
      }
    }
  }
  if (baseline.edgeAgreement !== undefined) {
    // Against the cloud's answer itself, ground truth or not.
    const a = weightedWilsonInterval(
      records.map((r) => ({ success: r.answers.edge === r.answers.cloud, weight: 1 / r.p })),
    );
    if (a.n > 0 && a.high < baseline.edgeAgreement - knobs.agreementCollapse) {
      return `edge–cloud agreement fell to ${pct(a.estimate)} (at most ${pct(a.high)}) on ${a.n} audits, calibration ${pct(baseline.edgeAgreement)}`;
    }
  }
  return undefined;
}

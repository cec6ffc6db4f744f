/**
 * The calibrated cascade's figures against the reference (the cloud's answers) on the calibration
 * split: the baseline F7's controller compares the field with (docs/field-accuracy.md "How the
 * controller decides"). The same cascade arithmetic, with "correct" meaning "agrees with the cloud".
 */
import type { CascadeBaseline } from '@fogline/shared';
import { baselines, type CascadePolicy, evaluatePolicy, type TierOutcomes } from './cascade.ts';
import type { TierRun } from './tier-outcomes.ts';

const NO_NETWORK = { deviceEdgeRttMs: 0, edgeCloudRttMs: 0 };

export function cascadeBaselineOf(
  tiers: { readonly device: TierRun; readonly edge: TierRun; readonly cloud: TierRun },
  policy: CascadePolicy,
): CascadeBaseline {
  const reference = tiers.cloud.predicted;
  const agreeing = (t: TierRun): TierOutcomes => ({
    ...t,
    correct: Uint8Array.from(t.predicted, (answer, i) => (answer === reference[i] ? 1 : 0)),
  });
  const c = { device: agreeing(tiers.device), edge: agreeing(tiers.edge), cloud: agreeing(tiers.cloud) };
  return {
    disagreement: 1 - evaluatePolicy(c, policy, NO_NETWORK).accuracy,
    edgeAgreement: baselines(c, NO_NETWORK).alwaysEdge.accuracy,
    cloudAccuracy: tiers.cloud.accuracy,
  };
}

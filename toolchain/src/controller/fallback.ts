/**
 * The conservative fallback after a drift alarm (docs/field-accuracy.md "The fallback"): with far too
 * few records to show any policy meets d0 + margin, the controller places the thresholds from the
 * score quantiles of the records since the alarm. Shares need no labels, so a few dozen audits are
 * enough: the device keeps answering only the `fallbackDeviceShare` of the traffic it is surest of,
 * and the edge passes up the least sure of what reaches it, so that the cloud answers
 * `fallbackCloudShare` of the cloud budget. Records weigh 1/p, like everywhere else.
 */
import { ALWAYS_ESCALATE_THRESHOLD, type ResolvedPolicy } from '@fogline/shared';
import type { CascadePolicy } from '../calibrate/cascade.ts';
import type { FieldRecord } from './field-records.ts';
import type { ControllerKnobs } from './knobs.ts';

interface Weighted {
  readonly score: number;
  readonly weight: number;
}

/**
 * The threshold below which a `level` share of the weight lies: the lowest score with at least that
 * share strictly below it (ALWAYS_ESCALATE_THRESHOLD for level 1, 0 for level 0 or no scores).
 */
export function weightedQuantile(values: readonly Weighted[], level: number): number {
  if (values.length === 0 || level <= 0) return 0;
  if (level >= 1) return ALWAYS_ESCALATE_THRESHOLD;
  const sorted = [...values].sort((a, b) => a.score - b.score);
  const total = sorted.reduce((sum, v) => sum + v.weight, 0);
  let below = 0;
  for (const v of sorted) {
    if (below >= level * total) return v.score;
    below += v.weight;
  }
  return ALWAYS_ESCALATE_THRESHOLD;
}

const scoreOf = (r: FieldRecord, tier: 'device' | 'edge', stage: ResolvedPolicy): number =>
  r.scores[tier][stage.score] ?? Number.NaN;

/** The fallback's target thresholds on these records (kinds as `current`), for a cloud budget. */
export function fallbackTarget(
  records: readonly FieldRecord[],
  current: CascadePolicy,
  maxCloudShare: number,
  knobs: ControllerKnobs,
): CascadePolicy {
  const device = records
    .map((r) => ({ score: scoreOf(r, 'device', current.device), weight: 1 / r.p }))
    .filter((v) => Number.isFinite(v.score));
  const escalated = 1 - knobs.fallbackDeviceShare;
  const deviceThreshold = weightedQuantile(device, escalated);
  const passedUp = records
    .filter((r) => !(scoreOf(r, 'device', current.device) >= deviceThreshold))
    .map((r) => ({ score: scoreOf(r, 'edge', current.edge), weight: 1 / r.p }))
    .filter((v) => Number.isFinite(v.score));
  const cloud = knobs.fallbackCloudShare * maxCloudShare;
  const edgeThreshold = weightedQuantile(passedUp, Math.min(1, cloud / escalated));
  return {
    device: { score: current.device.score, threshold: deviceThreshold },
    edge: { score: current.edge.score, threshold: edgeThreshold },
  };
}

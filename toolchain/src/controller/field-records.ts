/**
 * The controller's view of audited records (docs/field-accuracy.md "How the controller decides"):
 * every tier's routing scores and answer on one audited request, the reference answer, ground truth
 * where the application gave it, the audit probability p and the time. From these any cascade policy
 * can be replayed after the fact, because audits are a uniform sample of all traffic.
 */
import {
  type AgreementRecord,
  agreementOf,
  FoglineError,
  isConfident,
  type ProportionInterval,
  type ScoreKind,
  TIERS,
  type Tier,
  truthOf,
} from '@fogline/shared';
import type { Cascade, CascadePolicy, TierOutcomes, TierShares } from '../calibrate/cascade.ts';

/** One audited request. Answers are class indices of `outputs[0]`; scores lie in [0, 1]. */
export interface FieldRecord extends AgreementRecord {
  /** Every tier ran on an audit: the device and edge on the way, the cloud for the reference. */
  readonly answers: Readonly<Record<Tier, number>>;
  /** Each tier's routing scores, at least of the score kinds its stage of the policy uses. */
  readonly scores: Readonly<Record<Tier, Readonly<Partial<Record<ScoreKind, number>>>>>;
  /** When the request was audited (ms, the controller's clock). */
  readonly atMs: number;
}

/** A proportion of disagreement with the truth: estimate and Wilson bounds, over n (nEff) records. */
export type Disagreement = ProportionInterval;

function scoreOf(record: FieldRecord, tier: 'device' | 'edge', kind: ScoreKind): number {
  const s = record.scores[tier][kind];
  if (s === undefined || !(s >= 0 && s <= 1)) {
    throw new FoglineError('INVALID_ARG', `controller: a record lacks the ${tier}'s ${kind} score in [0, 1]`);
  }
  return s;
}

/** The tier that would have answered this record under `policy` (the routing rule of `decide`). */
export function answeringTier(record: FieldRecord, policy: CascadePolicy): Tier {
  if (isConfident(scoreOf(record, 'device', policy.device.score), policy.device)) return 'device';
  if (isConfident(scoreOf(record, 'edge', policy.edge.score), policy.edge)) return 'edge';
  return 'cloud';
}

/** How often `policy`'s answers disagree with the truth (ground truth, else the reference), weighted by 1/p. */
export function disagreementOf(records: readonly FieldRecord[], policy: CascadePolicy): Disagreement {
  const a = agreementOf(records, (r) => r.answers[answeringTier(r, policy)]);
  return { ...a, estimate: 1 - a.estimate, low: 1 - a.high, high: 1 - a.low };
}

/** Share of the traffic each tier would answer under `policy` (weighted by 1/p); zeros when empty. */
export function sharesOf(records: readonly FieldRecord[], policy: CascadePolicy): TierShares {
  const sums = { device: 0, edge: 0, cloud: 0 };
  let total = 0;
  for (const r of records) {
    sums[answeringTier(r, policy)] += 1 / r.p;
    total += 1 / r.p;
  }
  return total === 0
    ? sums
    : { device: sums.device / total, edge: sums.edge / total, cloud: sums.cloud / total };
}

/**
 * The records as a weighted cascade for the calibration sweep: a tier is "correct" where its answer
 * agrees with the record's truth; weights 1/p. Only the score kind of each stage of `policy` is
 * filled (the others are NaN: never confident), since the controller keeps the calibrated kinds.
 */
export function cascadeOf(records: readonly FieldRecord[], policy: CascadePolicy): Cascade {
  const n = records.length;
  const tier = (t: Tier): TierOutcomes => {
    const scores = {
      maxprob: new Float64Array(n).fill(Number.NaN),
      margin: new Float64Array(n).fill(Number.NaN),
      entropy: new Float64Array(n).fill(Number.NaN),
    };
    const correct = new Uint8Array(n);
    records.forEach((r, i) => {
      correct[i] = r.answers[t] === truthOf(r) ? 1 : 0;
      if (t !== 'cloud') scores[policy[t].score][i] = scoreOf(r, t, policy[t].score);
    });
    return { correct, scores, latencyMs: 0 };
  };
  const [device, edge, cloud] = TIERS.map(tier) as [TierOutcomes, TierOutcomes, TierOutcomes];
  return { device, edge, cloud, weights: Float64Array.from(records, (r) => 1 / r.p) };
}

/**
 * Splits the records, in time order, into a fitting part and a held-out part: every record whose
 * index crosses a multiple of 1/holdOutShare is held out, so both parts span the whole window
 * (no RNG: the same records always split the same way).
 */
export function splitHoldOut(
  records: readonly FieldRecord[],
  holdOutShare: number,
): { fit: FieldRecord[]; heldOut: FieldRecord[] } {
  const sorted = [...records].sort((a, b) => a.atMs - b.atMs);
  const fit: FieldRecord[] = [];
  const heldOut: FieldRecord[] = [];
  sorted.forEach((r, i) => {
    (Math.floor((i + 1) * holdOutShare) > Math.floor(i * holdOutShare) ? heldOut : fit).push(r);
  });
  return { fit, heldOut };
}

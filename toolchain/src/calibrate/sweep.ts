/**
 * Threshold sweep over the whole cascade: every pair of score kinds (device, edge) and a grid of
 * thresholds per stage, each evaluated exactly. For one device threshold, the escalated inputs are
 * sorted by edge score once; every edge threshold is then a binary search plus prefix sums.
 */
import { SCORE_KINDS, type ScoreKind } from '@fogline/shared';
import {
  type Cascade,
  type CascadeOutcome,
  type CascadePolicy,
  type NetworkCosts,
  outcomeOf,
  sampleCount,
  totalWeight,
  weightOf,
} from './cascade.ts';

export interface PolicyPoint {
  readonly policy: CascadePolicy;
  readonly outcome: CascadeOutcome;
}

/**
 * Candidate thresholds for one score: 0 (always answer), every distinct score when there are at
 * most `maxPoints` of them, else the scores at `maxPoints` evenly spaced quantiles, and Infinity
 * (never answer). Ascending.
 */
export function thresholdGrid(scores: Float64Array, maxPoints = 100): number[] {
  const sorted = Float64Array.from(scores).sort();
  const distinct = [...new Set(sorted)];
  const picked =
    distinct.length <= maxPoints
      ? distinct
      : Array.from(
          { length: maxPoints },
          (_, i) => sorted[Math.floor((i / (maxPoints - 1)) * (sorted.length - 1))]!,
        );
  return [...new Set([0, ...picked, Number.POSITIVE_INFINITY])].sort((a, b) => a - b);
}

/** Number of leading entries of `desc` (descending) that are ≥ t. */
function countAtLeast(desc: Float64Array, t: number): number {
  let lo = 0;
  let hi = desc.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (desc[mid]! >= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function sweepPolicies(
  c: Cascade,
  net: NetworkCosts,
  kinds: readonly ScoreKind[] = SCORE_KINDS,
  maxPoints = 100,
): PolicyPoint[] {
  const n = sampleCount(c);
  const total = totalWeight(c);
  const points: PolicyPoint[] = [];
  for (const dk of kinds) {
    const ds = c.device.scores[dk];
    for (const dt of thresholdGrid(ds, maxPoints)) {
      let deviceCorrect = 0;
      let answeredDevice = 0;
      const escalated: number[] = [];
      for (let i = 0; i < n; i++) {
        if (ds[i]! >= dt) {
          answeredDevice += weightOf(c, i);
          deviceCorrect += weightOf(c, i) * c.device.correct[i]!;
        } else escalated.push(i);
      }
      for (const ek of kinds) {
        const es = c.edge.scores[ek];
        const order = [...escalated].sort((a, b) => es[b]! - es[a]!);
        const desc = Float64Array.from(order, (i) => es[i]!);
        // edgeRight[m] / cloudRight[m] / reached[m]: correct answers and weight among the first m
        // escalated inputs (by edge score); weights are 1 on a calibration split, so these are counts.
        const edgeRight = new Float64Array(order.length + 1);
        const cloudRight = new Float64Array(order.length + 1);
        const reached = new Float64Array(order.length + 1);
        order.forEach((i, m) => {
          const w = weightOf(c, i);
          edgeRight[m + 1] = edgeRight[m]! + w * c.edge.correct[i]!;
          cloudRight[m + 1] = cloudRight[m]! + w * c.cloud.correct[i]!;
          reached[m + 1] = reached[m]! + w;
        });
        const cloudTotal = cloudRight[order.length]!;
        const escalatedTotal = reached[order.length]!;
        for (const et of thresholdGrid(es, maxPoints)) {
          const m = countAtLeast(desc, et);
          const correct = deviceCorrect + edgeRight[m]! + (cloudTotal - cloudRight[m]!);
          const answered = { device: answeredDevice, edge: reached[m]!, cloud: escalatedTotal - reached[m]! };
          points.push({
            policy: { device: { score: dk, threshold: dt }, edge: { score: ek, threshold: et } },
            outcome: outcomeOf(c, net, answered, correct, total),
          });
        }
      }
    }
  }
  return points;
}

/**
 * The accuracy / expected-latency frontier: points no other point beats on both (higher accuracy
 * at no more latency). Sorted by latency; one point per distinct (latency, accuracy).
 */
export function paretoFrontier(points: readonly PolicyPoint[]): PolicyPoint[] {
  const sorted = [...points].sort(
    (a, b) =>
      a.outcome.expectedLatencyMs - b.outcome.expectedLatencyMs || b.outcome.accuracy - a.outcome.accuracy,
  );
  const frontier: PolicyPoint[] = [];
  let best = Number.NEGATIVE_INFINITY;
  for (const p of sorted) {
    if (p.outcome.accuracy > best) {
      frontier.push(p);
      best = p.outcome.accuracy;
    }
  }
  return frontier;
}

/**
 * The device → edge → cloud cascade as arithmetic on per-sample outcomes (docs/design.md "Routing"):
 * a stage answers when its score ≥ its threshold, else the input goes one tier up; the cloud always
 * answers. Pure: no models, no clock — the tiers' correctness, scores and latencies come in.
 *
 * Expected latency of a policy, per input:
 *   L_device + P(reach edge)·(RTT_device↔edge + L_edge) + P(reach cloud)·(RTT_edge↔cloud + L_cloud)
 * Baselines that skip the cascade send every input straight to one tier (always-edge costs
 * RTT_device↔edge + L_edge; always-cloud also pays RTT_edge↔cloud + L_cloud, through the edge).
 */
import { isConfident, type ResolvedPolicy, type ScoreKind } from '@fogline/shared';

export interface TierOutcomes {
  /** 1 where this tier's top-1 class is right, per sample. */
  readonly correct: Uint8Array;
  /** Routing score of each sample, per score kind, in [0, 1]. */
  readonly scores: Readonly<Record<ScoreKind, Float64Array>>;
  /** Compute latency of one input on this tier, ms. */
  readonly latencyMs: number;
}

export interface Cascade {
  readonly device: TierOutcomes;
  readonly edge: TierOutcomes;
  readonly cloud: TierOutcomes;
  /**
   * What each sample stands for: 1/p for a record audited with probability p (the controller's field
   * records, docs/field-accuracy.md); absent = 1 each (a calibration split). Shares and accuracy are
   * then weighted sums over the total weight.
   */
  readonly weights?: Float64Array;
}

/** The weight of sample i (1 when the cascade carries none). */
export function weightOf(c: Cascade, i: number): number {
  return c.weights ? c.weights[i]! : 1;
}

/** Σ weights: the number of inputs the samples stand for. */
export function totalWeight(c: Cascade): number {
  return c.weights ? c.weights.reduce((a, b) => a + b, 0) : sampleCount(c);
}

export interface NetworkCosts {
  readonly deviceEdgeRttMs: number;
  readonly edgeCloudRttMs: number;
}

/** The routing policy of each stage; a threshold of Infinity never answers (always escalates). */
export interface CascadePolicy {
  readonly device: ResolvedPolicy;
  readonly edge: ResolvedPolicy;
}

export interface TierShares {
  readonly device: number;
  readonly edge: number;
  readonly cloud: number;
}

export interface CascadeOutcome {
  readonly accuracy: number;
  /** Share of inputs answered by each tier. */
  readonly share: TierShares;
  /** Hops up the cascade per input: P(reach edge) + P(reach cloud). */
  readonly escalations: number;
  readonly expectedLatencyMs: number;
}

/** Outcome from counts (or weight sums): answered per tier and correct answers overall, over n inputs. */
export function outcomeOf(
  c: Cascade,
  net: NetworkCosts,
  answered: { device: number; edge: number; cloud: number },
  correct: number,
  n: number,
): CascadeOutcome {
  const reachEdge = (answered.edge + answered.cloud) / n;
  const reachCloud = answered.cloud / n;
  return {
    accuracy: correct / n,
    share: { device: answered.device / n, edge: answered.edge / n, cloud: answered.cloud / n },
    escalations: reachEdge + reachCloud,
    expectedLatencyMs:
      c.device.latencyMs +
      reachEdge * (net.deviceEdgeRttMs + c.edge.latencyMs) +
      reachCloud * (net.edgeCloudRttMs + c.cloud.latencyMs),
  };
}

export function sampleCount(c: Cascade): number {
  const n = c.device.correct.length;
  if (n === 0 || c.edge.correct.length !== n || c.cloud.correct.length !== n) {
    throw new RangeError(
      `cascade tiers must score the same non-empty sample set (${n}, ${c.edge.correct.length}, ${c.cloud.correct.length})`,
    );
  }
  if (c.weights && (c.weights.length !== n || c.weights.some((w) => !(w > 0 && Number.isFinite(w))))) {
    throw new RangeError(`cascade weights must be one finite weight > 0 per sample (${n})`);
  }
  return n;
}

/** Runs one policy over every sample. */
export function evaluatePolicy(c: Cascade, policy: CascadePolicy, net: NetworkCosts): CascadeOutcome {
  const n = sampleCount(c);
  const ds = c.device.scores[policy.device.score];
  const es = c.edge.scores[policy.edge.score];
  const answered = { device: 0, edge: 0, cloud: 0 };
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const w = weightOf(c, i);
    const tier = isConfident(ds[i]!, policy.device)
      ? 'device'
      : isConfident(es[i]!, policy.edge)
        ? 'edge'
        : 'cloud';
    answered[tier] += w;
    correct += w * c[tier].correct[i]!;
  }
  return outcomeOf(c, net, answered, correct, totalWeight(c));
}

/** The oracle router: escalates exactly the inputs the lower tier gets wrong. */
export function oracleOutcome(c: Cascade, net: NetworkCosts): CascadeOutcome {
  const n = sampleCount(c);
  const answered = { device: 0, edge: 0, cloud: 0 };
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const w = weightOf(c, i);
    if (c.device.correct[i]) answered.device += w;
    else if (c.edge.correct[i]) answered.edge += w;
    else answered.cloud += w;
    correct += w * (c.device.correct[i]! | c.edge.correct[i]! | c.cloud.correct[i]!);
  }
  return outcomeOf(c, net, answered, correct, totalWeight(c));
}

export interface Baselines {
  readonly alwaysDevice: CascadeOutcome;
  readonly alwaysEdge: CascadeOutcome;
  readonly alwaysCloud: CascadeOutcome;
  readonly oracle: CascadeOutcome;
}

function accuracyOf(c: Cascade, t: TierOutcomes): number {
  return t.correct.reduce((sum, ok, i) => sum + ok * weightOf(c, i), 0) / totalWeight(c);
}

/** Every input to one tier, without running the tiers below it. */
export function baselines(c: Cascade, net: NetworkCosts): Baselines {
  const only = (tier: keyof TierShares, latencyMs: number, escalations: number): CascadeOutcome => ({
    accuracy: accuracyOf(c, c[tier]),
    share: { device: 0, edge: 0, cloud: 0, [tier]: 1 },
    escalations,
    expectedLatencyMs: latencyMs,
  });
  return {
    alwaysDevice: only('device', c.device.latencyMs, 0),
    alwaysEdge: only('edge', net.deviceEdgeRttMs + c.edge.latencyMs, 1),
    alwaysCloud: only('cloud', net.deviceEdgeRttMs + net.edgeCloudRttMs + c.cloud.latencyMs, 2),
    oracle: oracleOutcome(c, net),
  };
}

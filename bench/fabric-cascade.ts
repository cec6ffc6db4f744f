/**
 * The cascade table of the fabric bench (docs/design.md "Routing"): one row per routing strategy on the
 * test split — accuracy, share of requests answered per tier, mean and p99 end-to-end latency as the
 * device measured it. Measured rows come from real runs; the oracle router (escalates exactly what the
 * lower tier gets wrong) is computed from each model's offline predictions, with each sample's
 * latency taken from the measured run that ends at the tier the oracle picks for it.
 */
import {
  argmax,
  isConfident,
  type ResolvedPolicy,
  scoreOf,
  softmax,
  TIERS,
  type Tier,
} from '@fogline/shared';
import type { SdkRecord } from './fabric-devices.ts';
import { type LatencySummary, summarize } from './fabric-stats.ts';

export interface CascadeRow {
  readonly name: string;
  /** How the row was obtained, for the report. */
  readonly method: string;
  readonly count: number;
  readonly accuracy: number;
  readonly share: Record<Tier, number>;
  readonly latency: LatencySummary;
  /** Latency of the requests each tier answered. */
  readonly latencyByTier: Record<Tier, LatencySummary>;
  /** Answers flagged degraded (a tier was unavailable) and device fallbacks (with their codes). */
  readonly degraded: number;
  readonly fallbacks: Record<string, number>;
}

/** Logits of one model over the test split (row-major `[count, classes]`). */
export interface SplitLogits {
  readonly logits: Float32Array;
  readonly classes: number;
  readonly labels: Uint8Array;
}

function byTier(samples: readonly (readonly [Tier, number])[]): Record<Tier, LatencySummary> {
  const of = (tier: Tier) => summarize(samples.filter(([t]) => t === tier).map(([, ms]) => ms));
  return { device: of('device'), edge: of('edge'), cloud: of('cloud') };
}

export function rowFromRecords(name: string, method: string, records: readonly SdkRecord[]): CascadeRow {
  const share = { device: 0, edge: 0, cloud: 0 };
  const fallbacks: Record<string, number> = {};
  let correct = 0;
  let degraded = 0;
  for (const r of records) {
    share[r.tier]++;
    if (r.predicted === r.label) correct++;
    if (r.degraded) degraded++;
    if (r.fallback) fallbacks[r.fallback] = (fallbacks[r.fallback] ?? 0) + 1;
  }
  const n = Math.max(1, records.length);
  return {
    name,
    method,
    count: records.length,
    accuracy: correct / n,
    share: { device: share.device / n, edge: share.edge / n, cloud: share.cloud / n },
    latency: summarize(records.map((r) => r.totalMs)),
    latencyByTier: byTier(records.map((r) => [r.tier, r.totalMs])),
    degraded,
    fallbacks,
  };
}

function correctAt(model: SplitLogits, i: number): boolean {
  return argmax(model.logits, i * model.classes, model.classes) === model.labels[i];
}

/** Oracle router: device if tiny is right, else edge if mid is right, else cloud. */
export function oracleRow(
  models: Record<Tier, SplitLogits>,
  measured: Record<Tier, readonly SdkRecord[]>,
): CascadeRow {
  const latencyOf = Object.fromEntries(
    TIERS.map((t) => [t, new Map(measured[t].map((r) => [r.index, r.totalMs]))]),
  ) as Record<Tier, Map<number, number>>;
  const count = models.device.labels.length;
  const share = { device: 0, edge: 0, cloud: 0 };
  const latencies: [Tier, number][] = [];
  let correct = 0;
  for (let i = 0; i < count; i++) {
    const tier: Tier = correctAt(models.device, i) ? 'device' : correctAt(models.edge, i) ? 'edge' : 'cloud';
    share[tier]++;
    if (tier !== 'cloud' || correctAt(models.cloud, i)) correct++;
    latencies.push([tier, latencyOf[tier].get(i) ?? Number.NaN]);
  }
  return {
    name: 'oracle router',
    method:
      'computed: offline predictions of each model; per-sample latency from the measured always-<tier> run',
    count,
    accuracy: correct / count,
    share: { device: share.device / count, edge: share.edge / count, cloud: share.cloud / count },
    latency: summarize(latencies.map(([, ms]) => ms)),
    latencyByTier: byTier(latencies),
    degraded: 0,
    fallbacks: {},
  };
}

/**
 * What the cascade should do by its policies, replayed on the offline logits (no latency): a check
 * that the measured cascade routes as its thresholds say.
 */
export function replayCascade(
  models: Record<Tier, SplitLogits>,
  device: ResolvedPolicy,
  edge: ResolvedPolicy,
): { accuracy: number; share: Record<Tier, number> } {
  const count = models.device.labels.length;
  const share = { device: 0, edge: 0, cloud: 0 };
  let correct = 0;
  const confident = (m: SplitLogits, p: ResolvedPolicy, i: number) =>
    isConfident(scoreOf(p.score, softmax(m.logits, i * m.classes, m.classes)), p);
  for (let i = 0; i < count; i++) {
    const tier: Tier = confident(models.device, device, i)
      ? 'device'
      : confident(models.edge, edge, i)
        ? 'edge'
        : 'cloud';
    share[tier]++;
    if (correctAt(models[tier], i)) correct++;
  }
  return {
    accuracy: correct / count,
    share: { device: share.device / count, edge: share.edge / count, cloud: share.cloud / count },
  };
}

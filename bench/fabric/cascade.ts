/**
 * The cascade table (docs/design.md "Routing"): per strategy, accuracy, share answered per tier and
 * latency as the device measured it. The oracle router escalates exactly what the lower tier gets
 * wrong, each sample's latency taken from the measured always-<tier> run.
 */

import { type ResolvedPolicy, TIERS, type Tier } from '@fogline/shared';
import type { Evaluation } from '@fogline/toolchain';
import { summarize } from '../lib/stats.ts';
import type { SdkRecord } from '../load/sdk.ts';

export { TIERS, type Tier } from '@fogline/shared';

/**
 * Forces a device (or an edge) to escalate everything: normalised-entropy confidence reaches 1 only
 * for an exactly one-hot softmax. (A threshold above 1 is refused by policy validation.)
 */
export const ALWAYS_ESCALATE: ResolvedPolicy = { score: 'entropy', threshold: 1 };

interface Answer {
  readonly tier: Tier;
  readonly correct: boolean;
  readonly ms: number;
  readonly degraded?: boolean;
}

export const perTier = <T>(f: (tier: Tier) => T) =>
  Object.fromEntries(TIERS.map((t) => [t, f(t)])) as Record<Tier, T>;

function row(name: string, answers: readonly Answer[]) {
  const n = Math.max(1, answers.length);
  const at = (tier: Tier) => answers.filter((a) => a.tier === tier);
  return {
    name,
    count: answers.length,
    accuracy: answers.filter((a) => a.correct).length / n,
    share: perTier((t) => at(t).length / n),
    latency: summarize(answers.map((a) => a.ms)),
    /** Answers flagged degraded (a tier was unavailable). */
    degraded: answers.filter((a) => a.degraded).length,
  };
}

export type CascadeRow = ReturnType<typeof row>;

export function rowFromRecords(name: string, records: readonly SdkRecord[]): CascadeRow {
  return row(
    name,
    records.map((r) => ({ ...r, correct: r.predicted === r.label, ms: r.totalMs })),
  );
}

/** Oracle router: device if tiny is right, else edge if mid is right, else cloud. */
export function oracleRow(
  models: Record<Tier, Evaluation>,
  labels: ArrayLike<number>,
  measured: Record<Tier, readonly SdkRecord[]>,
): CascadeRow {
  const correctAt = (m: Evaluation, i: number) => m.predicted[i] === labels[i];
  const latencyOf = perTier((t) => new Map(measured[t].map((r) => [r.index, r.totalMs])));
  const answers = Array.from({ length: models.device.count }, (_, i) => {
    const tier = correctAt(models.device, i) ? 'device' : correctAt(models.edge, i) ? 'edge' : 'cloud';
    return { tier, correct: correctAt(models[tier], i), ms: latencyOf[tier].get(i) ?? Number.NaN } as const;
  });
  return row('oracle router', answers);
}

/**
 * A shifted digits stream run through every tier of the committed cascade once (onnxruntime
 * directly): per item the label, each tier's answer and its score of every kind. Everything the
 * drift simulation replays comes from here, so a simulated request costs no inference.
 */
import { SCORE_KINDS, type ScoreKind, scoreLogitRows, TIERS, type Tier } from '@fogline/shared';
import { collectStream, type DigitsData, type ShiftedStreamSpec } from '@fogline/shared/digits';
import type { CascadeTier } from '../../models/digits-shifts.ts';
import { runLogits } from '../../models/digits-zoo.ts';

/** One tier's output on one item. */
export interface TierOutput {
  readonly answer: number;
  readonly scores: Readonly<Record<ScoreKind, number>>;
}

/** One request of the stream: its label and what every tier would answer. */
export interface ScoredItem {
  readonly label: number;
  readonly out: Readonly<Record<Tier, TierOutput>>;
}

const BATCH = 250;

async function tierOutputs(tier: CascadeTier, data: DigitsData): Promise<TierOutput[]> {
  const logits = new Float32Array(data.count * 10);
  for (let start = 0; start < data.count; start += BATCH) {
    const n = Math.min(BATCH, data.count - start);
    logits.set(await runLogits(tier.session, data, start, n), start * 10);
  }
  const rows = Object.fromEntries(SCORE_KINDS.map((k) => [k, scoreLogitRows(logits, 10, k)]));
  return Array.from({ length: data.count }, (_, i) => ({
    answer: rows.maxprob!.labels[i]!,
    scores: Object.fromEntries(SCORE_KINDS.map((k) => [k, rows[k]!.scores[i]!])) as Record<ScoreKind, number>,
  }));
}

/** Scores every item of `data` on the three tiers (device, edge, cloud in that order). */
export async function scoreData(tiers: readonly CascadeTier[], data: DigitsData): Promise<ScoredItem[]> {
  const outs: TierOutput[][] = [];
  for (const t of tiers) outs.push(await tierOutputs(t, data));
  return Array.from({ length: data.count }, (_, i) => ({
    label: data.labels[i]!,
    out: Object.fromEntries(TIERS.map((t, k) => [t, outs[k]![i]!])) as Record<Tier, TierOutput>,
  }));
}

export async function scoreStream(
  tiers: readonly CascadeTier[],
  spec: ShiftedStreamSpec,
): Promise<ScoredItem[]> {
  return scoreData(tiers, collectStream(spec));
}

/**
 * The cloud's half of a deployment's accuracy gate (docs/operations.md "Rollout"): while an edge runs
 * its previous model in shadow, each audit carries both answers on the same input (audit-upload.ts
 * `shadow`), and the audit intake computes the reference. Each pair counts once per edge deployment:
 * paired, newCorrect, oldCorrect, and the discordant pairs that alone carry the comparison.
 *
 * `judgeGate` is the one place that judges the counts. It is meant to be `judgePairedGate` from
 * shared/src/core/field/paired-gate.ts (the paired-comparison statistics, built apart); until that is
 * merged, `interimPairedGate` below stands in with the same signature. LEAD: connect it here.
 */
import type { DeploymentGate } from '@fogline/shared';
import type { GateCounts } from '../store/index.ts';

/** One audited input (uniform sample) answered by both edge models, with the cloud's reference. */
export interface ShadowPair {
  /** `name:version` of the deployed model and of the previous one. */
  readonly edgeModel: string;
  readonly shadowModel: string;
  readonly edgeLabel: number;
  readonly shadowLabel: number;
  readonly referenceLabel: number;
}

export interface PairedGateInput {
  readonly paired: number;
  readonly newOnlyCorrect: number;
  readonly oldOnlyCorrect: number;
  readonly minPaired: number;
  readonly maxDrop: number;
  readonly confidence?: number;
}

export interface PairedGateVerdict {
  readonly verdict: 'pending' | 'pass' | 'fail';
  /** Estimated drop of agreement with the reference (old − new), and its confidence bounds. */
  readonly drop: number;
  readonly upper: number;
  readonly lower: number;
  readonly reason: string;
}

export type PairedGateJudge = (input: PairedGateInput) => PairedGateVerdict;

export const NO_PAIRS: GateCounts = Object.freeze({
  paired: 0,
  newCorrect: 0,
  oldCorrect: 0,
  newOnlyCorrect: 0,
  oldOnlyCorrect: 0,
});

/** The counts with one more pair. */
export function addPair(counts: GateCounts, pair: ShadowPair): GateCounts {
  const newOk = pair.edgeLabel === pair.referenceLabel;
  const oldOk = pair.shadowLabel === pair.referenceLabel;
  return {
    paired: counts.paired + 1,
    newCorrect: counts.newCorrect + (newOk ? 1 : 0),
    oldCorrect: counts.oldCorrect + (oldOk ? 1 : 0),
    newOnlyCorrect: counts.newOnlyCorrect + (newOk && !oldOk ? 1 : 0),
    oldOnlyCorrect: counts.oldOnlyCorrect + (oldOk && !newOk ? 1 : 0),
  };
}

/** One-sided normal quantile for the usual confidences (default 0.95). */
function zOf(confidence: number): number {
  if (confidence >= 0.99) return 2.326;
  if (confidence >= 0.975) return 1.96;
  if (confidence >= 0.95) return 1.645;
  return 1.282;
}

/**
 * Stand-in for `judgePairedGate` until it is merged: the paired difference of agreement
 * d = (oldOnly − newOnly) / n with its Wald bound on the discordant pairs,
 * var = ((oldOnly + newOnly) / n − d²) / n. Fail when the lower bound is past `maxDrop`, pass when
 * the upper bound is within it, pending otherwise and below `minPaired`.
 */
export const interimPairedGate: PairedGateJudge = (input) => {
  const { paired: n, newOnlyCorrect: nw, oldOnlyCorrect: od, minPaired, maxDrop } = input;
  const drop = n > 0 ? (od - nw) / n : 0;
  const half =
    n > 0 ? zOf(input.confidence ?? 0.95) * Math.sqrt(Math.max(0, (od + nw) / n - drop * drop) / n) : 1;
  const lower = drop - half;
  const upper = drop + half;
  const say = `drop ${pct(drop)} (${pct(lower)}..${pct(upper)}) on ${n} paired records`;
  if (n < minPaired) return { verdict: 'pending', drop, upper, lower, reason: `${say}; need ${minPaired}` };
  if (lower > maxDrop)
    return { verdict: 'fail', drop, upper, lower, reason: `${say}, beyond ${pct(maxDrop)}` };
  if (upper <= maxDrop)
    return { verdict: 'pass', drop, upper, lower, reason: `${say}, within ${pct(maxDrop)}` };
  return { verdict: 'pending', drop, upper, lower, reason: `${say}; not yet decided` };
};

/**
 * Paired records the interim bound needs to decide when the true drop is `drop` and a share
 * `discordant` of the pairs are discordant: the n where its half-width z·sqrt((d − drop²)/n) meets
 * the margin |maxDrop − drop| (docs/operations.md "Rollout" tabulates it). Before `minPaired`.
 */
export function pairedRecordsNeeded(
  discordant: number,
  drop: number,
  maxDrop: number,
  confidence = 0.95,
): number {
  const z = zOf(confidence);
  const margin = Math.abs(maxDrop - drop);
  return Math.ceil((z * z * Math.max(0, discordant - drop * drop)) / (margin * margin));
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The gate's verdict on an edge's counts. LEAD: swap `interimPairedGate` for `judgePairedGate`. */
export function judgeGate(
  counts: GateCounts,
  gate: DeploymentGate,
  judge: PairedGateJudge = interimPairedGate,
): PairedGateVerdict {
  return judge({
    paired: counts.paired,
    newOnlyCorrect: counts.newOnlyCorrect,
    oldOnlyCorrect: counts.oldOnlyCorrect,
    minPaired: gate.minPaired,
    maxDrop: gate.maxDrop,
  });
}

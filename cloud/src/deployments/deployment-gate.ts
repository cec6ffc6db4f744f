/**
 * The cloud's half of a deployment's accuracy gate (docs/operations.md "Rollout"): while an edge runs
 * its previous model in shadow, each audit carries both answers on the same input (audit-upload.ts
 * `shadow`), and the audit intake computes the reference. Each pair counts once per edge deployment:
 * paired, newCorrect, oldCorrect, and the discordant pairs that alone carry the comparison.
 * `judgeGate` judges the counts with `judgePairedGate` (shared core/field/paired-gate.ts, Tango's
 * interval; docs/field-accuracy.md "Rollout gate" says how many pairs a drop needs).
 */
import { type DeploymentGate, judgePairedGate, type PairedGateJudgement } from '@fogline/shared';
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

/** The statistics that judge the counts: judgePairedGate (tests may pass another). */
export type PairedGateJudge = typeof judgePairedGate;

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

/** The gate's verdict on an edge's counts. */
export function judgeGate(
  counts: GateCounts,
  gate: DeploymentGate,
  judge: PairedGateJudge = judgePairedGate,
): PairedGateJudgement {
  return judge({
    paired: counts.paired,
    newOnlyCorrect: counts.newOnlyCorrect,
    oldOnlyCorrect: counts.oldOnlyCorrect,
    minPaired: gate.minPaired,
    maxDrop: gate.maxDrop,
  });
}

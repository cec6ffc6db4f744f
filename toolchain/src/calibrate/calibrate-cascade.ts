/**
 * `fogline calibrate` core: runs the three tiers over the calibration and evaluation samples,
 * sweeps the policies on the calibration split, picks one by the objective and measures it (and
 * the baselines) on both splits, so overfitting of the thresholds shows.
 */
import { type CascadeBaseline, SCORE_KINDS, type ScoreKind } from '@fogline/shared';
import type { Dataset, DatasetProgress } from '../dataset/dataset.ts';
import type { EvaluatedModel } from '../evaluate/evaluate-model.ts';
import type { RouterRow, TierSummary } from './calibration-report.ts';
import { baselines, type Cascade, type CascadePolicy, evaluatePolicy, type NetworkCosts } from './cascade.ts';
import { cascadeBaselineOf } from './cascade-baseline.ts';
import { choosePolicy, type Objective } from './objective.ts';
import { type PolicyPoint, paretoFrontier, sweepPolicies } from './sweep.ts';
import { runTier, type TierRun } from './tier-outcomes.ts';

export type TierRole = 'device' | 'edge' | 'cloud';
export const TIER_ROLES: readonly TierRole[] = ['device', 'edge', 'cloud'];

export interface TierModel {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Its config: input datatype, output kind, labels. */
  readonly config: EvaluatedModel;
}

export interface CalibrateOptions {
  readonly network: NetworkCosts;
  readonly objective: Objective;
  /** Batch-1 runs per tier for the latency median. */
  readonly latencyRuns: number;
  /** Per-tier compute latency to use instead of measuring (e.g. for the real device). */
  readonly latencyMs?: Partial<Record<TierRole, number>>;
  readonly onStep?: (message: string) => void;
  /** Progress of each model's pass over a dataset; `what` names the model and the dataset. */
  readonly onProgress?: (what: string, p: DatasetProgress) => void;
  /**
   * Keep this policy instead of choosing one by the objective (`fogline calibrate --drift-only`): it
   * is measured, reported as the chosen row and the baseline is computed for it.
   */
  readonly policy?: CascadePolicy;
}

export interface CascadeCalibration {
  readonly tiers: readonly TierSummary[];
  readonly policiesSwept: number;
  readonly chosen: PolicyPoint | undefined;
  readonly rows: readonly RouterRow[];
  readonly perScoreKind: readonly RouterRow[];
  readonly frontier: readonly PolicyPoint[];
  /** Every tier's routing scores on each calibration sample (the drift reference is cut from the device's). */
  readonly calibrationScores: Readonly<Record<TierRole, Readonly<Record<ScoreKind, Float64Array>>>>;
  /** The chosen policy against the reference on the calibration split (d0 and more), when one was chosen. */
  readonly baseline?: CascadeBaseline;
}

async function runAll(
  models: Readonly<Record<TierRole, TierModel>>,
  set: Dataset,
  options: CalibrateOptions,
  measure: boolean,
): Promise<Record<TierRole, TierRun>> {
  const out = {} as Record<TierRole, TierRun>;
  for (const role of TIER_ROLES) {
    const what = `running ${role} model ${models[role].name} on ${set.source}`;
    options.onStep?.(what);
    const override = options.latencyMs?.[role];
    const run = await runTier(models[role].bytes, models[role].name, models[role].config, set, {
      latencyRuns: measure && override === undefined ? options.latencyRuns : 0,
      onProgress: (p) => options.onProgress?.(what, p),
    });
    out[role] = override === undefined ? run : { ...run, latencyMs: override };
  }
  return out;
}

export async function calibrateCascade(
  models: Readonly<Record<TierRole, TierModel>>,
  calibration: Dataset,
  evaluation: Dataset,
  options: CalibrateOptions,
): Promise<CascadeCalibration> {
  const cal = await runAll(models, calibration, options, true);
  const ev = await runAll(models, evaluation, options, false);
  // Latency is a property of the model and machine, measured once; both splits use it.
  for (const role of TIER_ROLES) ev[role] = { ...ev[role], latencyMs: cal[role].latencyMs };
  const calCascade: Cascade = cal;
  const evCascade: Cascade = ev;
  const net = options.network;

  options.onStep?.('sweeping thresholds');
  const points = sweepPolicies(calCascade, net);
  const chosen = options.policy
    ? { policy: options.policy, outcome: evaluatePolicy(calCascade, options.policy, net) }
    : choosePolicy(points, options.objective, baselines(calCascade, net));
  const row = (name: string, policy: CascadePolicy): RouterRow => ({
    name,
    policy,
    calibration: evaluatePolicy(calCascade, policy, net),
    evaluation: evaluatePolicy(evCascade, policy, net),
  });
  const bCal = baselines(calCascade, net);
  const bEv = baselines(evCascade, net);
  const rows: RouterRow[] = [
    ...(chosen ? [row('chosen', chosen.policy)] : []),
    { name: 'always-device', calibration: bCal.alwaysDevice, evaluation: bEv.alwaysDevice },
    { name: 'always-edge', calibration: bCal.alwaysEdge, evaluation: bEv.alwaysEdge },
    { name: 'always-cloud', calibration: bCal.alwaysCloud, evaluation: bEv.alwaysCloud },
    { name: 'oracle router', calibration: bCal.oracle, evaluation: bEv.oracle },
  ];
  const perScoreKind: RouterRow[] = [];
  for (const dk of SCORE_KINDS) {
    for (const ek of SCORE_KINDS) {
      const pick = choosePolicy(
        points.filter((p) => p.policy.device.score === dk && p.policy.edge.score === ek),
        options.objective,
        bCal,
      );
      if (pick) perScoreKind.push(row(`${dk} / ${ek}`, pick.policy));
    }
  }
  const tiers: TierSummary[] = TIER_ROLES.map((role) => ({
    role,
    model: models[role].name,
    accuracy: cal[role].accuracy,
    evalAccuracy: ev[role].accuracy,
    latencyMs: cal[role].latencyMs,
  }));
  return {
    tiers,
    policiesSwept: points.length,
    chosen,
    rows,
    perScoreKind,
    frontier: paretoFrontier(points),
    calibrationScores: { device: cal.device.scores, edge: cal.edge.scores, cloud: cal.cloud.scores },
    ...(chosen ? { baseline: cascadeBaselineOf(cal, chosen.policy) } : {}),
  };
}

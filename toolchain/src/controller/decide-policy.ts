/**
 * The controller's decision for one edge (docs/field-accuracy.md "How the controller decides"):
 * from the edge's recent audited records, hold the policy, fall back to a conservative one, re-fit
 * the thresholds, or report that the reference itself is weak. Pure and deterministic: records,
 * state and the clock come in; nothing is applied here (wiring to the policy channel comes later).
 *
 * Score kinds stay as calibrated; only thresholds move, fitted by the calibration sweep and
 * objective on part of the records and checked on the rest: feasible = the upper Wilson bound of
 * the disagreement with the reference on the held-out records ≤ d0 + margin.
 */
import {
  ALWAYS_ESCALATE_THRESHOLD,
  type Clock,
  FoglineError,
  type ResolvedPolicy,
  recordsNeeded,
  TIERS,
  wilsonBounds,
} from '@fogline/shared';
import { baselines, type CascadePolicy, type TierShares } from '../calibrate/cascade.ts';
import { choosePolicy } from '../calibrate/objective.ts';
import { sweepPolicies } from '../calibrate/sweep.ts';
import { fallbackTarget } from './fallback.ts';
import {
  cascadeOf,
  type Disagreement,
  disagreementOf,
  type FieldRecord,
  sharesOf,
  splitHoldOut,
} from './field-records.ts';
import { type ControllerKnobs, resolveKnobs } from './knobs.ts';
import { type ReferenceBaseline, weakReference } from './weak-reference.ts';

/** What calibration measured: d0 and the weak-reference baselines (`fogline calibrate` writes them). */
export interface ControllerBaseline extends ReferenceBaseline {
  /** d0: the calibrated cascade's disagreement with the reference on the calibration split. */
  readonly disagreement: number;
}

export interface ControllerState {
  /** An operator pinned this edge's policy: the controller is off for it. */
  readonly pinned: boolean;
  /** An F8 canary is running on this edge: the controller holds. */
  readonly canary: boolean;
  /** The edge's drift alarm (PSI of the device scores) is raised. */
  readonly driftAlarm: boolean;
  /** The current policy is the controller's conservative fallback, not yet re-fitted. */
  readonly conservative: boolean;
  /** When the controller last changed the policy (the clock's ms), if ever. */
  readonly lastChangeMs?: number;
}

export interface ControllerInput {
  /** The edge's recent audited records (its rolling window). */
  readonly records: readonly FieldRecord[];
  readonly policy: CascadePolicy;
  readonly baseline: ControllerBaseline;
  readonly state: ControllerState;
  /** Cloud budget: the most of the traffic the cloud may answer, in (0, 1]. */
  readonly maxCloudShare: number;
  readonly knobs?: Partial<ControllerKnobs>;
  readonly clock: Clock;
}

export type ControllerAction = 'hold' | 'conservative' | 'refit' | 'report-weak-reference';

export interface ControllerFigures {
  readonly records: number;
  readonly nEff: number;
  /** The current policy's disagreement with the truth over all records. */
  readonly disagreement: Pick<Disagreement, 'estimate' | 'low' | 'high'>;
  /** Share each tier answers under the current policy. */
  readonly share: TierShares;
}

export interface ControllerDecision {
  readonly action: ControllerAction;
  /** The new policy, for `conservative` and `refit`. */
  readonly policy?: CascadePolicy;
  readonly why: string;
  readonly figures: ControllerFigures;
}

const NO_NETWORK = { deviceEdgeRttMs: 0, edgeCloudRttMs: 0 };
const EPS = 1e-12;
/** Thresholds per stage the sweep tries (score quantiles of the fitting records). */
const SWEEP_POINTS = 50;
const pp = (x: number): string => `${(100 * x).toFixed(2)} %`;

/** A threshold the wire can carry: the sweep's Infinity (never answer) becomes ALWAYS_ESCALATE_THRESHOLD. */
function finite(p: ResolvedPolicy): ResolvedPolicy {
  return { score: p.score, threshold: Math.min(p.threshold, ALWAYS_ESCALATE_THRESHOLD) };
}

function stepStage(from: ResolvedPolicy, to: ResolvedPolicy, maxStep: number): ResolvedPolicy {
  const delta = Math.max(-maxStep, Math.min(maxStep, to.threshold - from.threshold));
  return { score: from.score, threshold: from.threshold + delta };
}

function samePolicy(a: CascadePolicy, b: CascadePolicy): boolean {
  return (
    Math.abs(a.device.threshold - b.device.threshold) < EPS &&
    Math.abs(a.edge.threshold - b.edge.threshold) < EPS
  );
}

/** Every stage escalates at least as much as before (thresholds no lower). */
function escalatesMore(next: CascadePolicy, current: CascadePolicy): boolean {
  return next.device.threshold >= current.device.threshold && next.edge.threshold >= current.edge.threshold;
}

/** The largest observed disagreement whose upper Wilson bound over nEff records stays ≤ bound. */
function largestShowable(bound: number, nEff: number): number {
  if (!(wilsonBounds(0, nEff).high <= bound)) return -1;
  let low = 0;
  let high = bound;
  for (let i = 0; i < 50; i++) {
    const mid = (low + high) / 2;
    if (wilsonBounds(mid, nEff).high <= bound) low = mid;
    else high = mid;
  }
  return low;
}

function checkInput(input: ControllerInput): void {
  const d0 = input.baseline.disagreement;
  if (!(d0 >= 0 && d0 < 1)) {
    throw new FoglineError('INVALID_ARG', `controller: baseline disagreement must be in [0, 1), got ${d0}`);
  }
  for (const stage of [input.policy.device, input.policy.edge]) {
    if (!(stage.threshold >= 0 && stage.threshold <= ALWAYS_ESCALATE_THRESHOLD)) {
      throw new FoglineError(
        'INVALID_ARG',
        `controller: policy thresholds must be in [0, ${ALWAYS_ESCALATE_THRESHOLD}], got ${stage.threshold}`,
      );
    }
  }
  if (!(input.maxCloudShare > 0 && input.maxCloudShare <= 1)) {
    throw new FoglineError(
      'INVALID_ARG',
      `controller: maxCloudShare must be in (0, 1], got ${input.maxCloudShare}`,
    );
  }
}

export function decidePolicy(input: ControllerInput): ControllerDecision {
  checkInput(input);
  const knobs = resolveKnobs(input.knobs);
  const { records, policy: current, baseline, state } = input;
  const all = disagreementOf(records, current);
  const figures: ControllerFigures = {
    records: records.length,
    nEff: all.nEff,
    disagreement: { estimate: all.estimate, low: all.low, high: all.high },
    share: sharesOf(records, current),
  };
  const decision = (action: ControllerAction, why: string, policy?: CascadePolicy): ControllerDecision =>
    policy ? { action, policy, why, figures } : { action, why, figures };

  if (state.pinned) return decision('hold', 'pinned by an operator: the controller is off for this edge');
  if (state.canary) return decision('hold', 'a canary is running on this edge (F8): the controller holds');
  const weak = weakReference(records, baseline, knobs);
  if (weak)
    return decision(
      'report-weak-reference',
      `reference weak on this traffic: ${weak}; not pushing traffic up`,
    );

  const bound = baseline.disagreement + knobs.margin;
  const needed = Math.max(knobs.minRecords, recordsNeeded(baseline.disagreement, knobs.margin));
  const { fit, heldOut } = splitHoldOut(records, knobs.holdOutShare);
  const held = disagreementOf(heldOut, current);
  // Only during the alarm: once it settles the records come at the calm rate, each weighing 1/p, so
  // a few of them would swing the quantiles; the fallback then holds until a refit replaces it.
  const fallBack = (reason: string): ControllerDecision =>
    state.driftAlarm ? conservative(input, knobs, figures, reason) : decision('hold', reason);

  if (held.nEff < needed) {
    return fallBack(
      `too few records: ${held.nEff.toFixed(0)} effective held-out of ${records.length}, a decision at d0 ${pp(baseline.disagreement)} + ${pp(knobs.margin)} needs ${needed}`,
    );
  }
  const kinds = [...new Set([current.device.score, current.edge.score])];
  const fitCascade = cascadeOf(fit, current);
  const points = sweepPolicies(fitCascade, NO_NETWORK, kinds, SWEEP_POINTS).filter(
    (p) => p.policy.device.score === current.device.score && p.policy.edge.score === current.edge.score,
  );
  // The cheapest policy whose disagreement on the fitting records, were it the same on the held-out
  // ones, would pass the held-out check: the fit is optimistic, so this leaves the check a margin.
  const showable = largestShowable(bound, held.nEff);
  const objective = {
    accuracy: { kind: 'absolute', accuracy: 1 - showable },
    maxCloudShare: input.maxCloudShare,
  } as const;
  const base = baselines(fitCascade, NO_NETWORK);
  const within = (from: ResolvedPolicy, to: ResolvedPolicy) =>
    Math.abs(finite(to).threshold - from.threshold) <= knobs.maxStep + EPS;
  // Bounded steps: the cheapest feasible policy one step away; else a step toward the cheapest anywhere.
  const near = choosePolicy(
    points.filter((p) => within(current.device, p.policy.device) && within(current.edge, p.policy.edge)),
    objective,
    base,
  );
  const chosen = near ?? choosePolicy(points, objective, base);
  if (!chosen) {
    return fallBack(
      `no thresholds within the cloud budget (${pp(input.maxCloudShare)}) show disagreement ≤ ${pp(bound)} on the ${fit.length} fitting records`,
    );
  }
  const target = { device: finite(chosen.policy.device), edge: finite(chosen.policy.edge) };
  const next: CascadePolicy = {
    device: stepStage(current.device, target.device, knobs.maxStep),
    edge: stepStage(current.edge, target.edge, knobs.maxStep),
  };
  if (samePolicy(next, current)) return decision('hold', 'the re-fitted thresholds are the current ones');
  const checked = disagreementOf(heldOut, next);
  const currentOk = held.high <= bound + EPS;
  const nextOk = checked.high <= bound + EPS;
  const stepped = samePolicy(next, target) ? '' : ` (a step of at most ${knobs.maxStep} toward the fit)`;
  if (!nextOk && (currentOk || !escalatesMore(next, current))) {
    const why = `the re-fitted thresholds fail on the held-out records: disagreement ≤ ${pp(checked.high)} > ${pp(bound)}`;
    return currentOk ? decision('hold', `${why}; the current policy meets it`) : fallBack(why);
  }
  const cloud = sharesOf(records, next).cloud;
  if (cloud > input.maxCloudShare + EPS && cloud > figures.share.cloud + EPS) {
    return fallBack(
      `the re-fitted thresholds would send ${pp(cloud)} to the cloud, over the budget ${pp(input.maxCloudShare)}`,
    );
  }
  if (currentOk) {
    const cost = (p: CascadePolicy) => {
      const s = sharesOf(records, p);
      return s.edge + 2 * s.cloud;
    };
    const gain = cost(current) - cost(next);
    if (gain < knobs.minGain) {
      return decision(
        'hold',
        `the current policy meets ${pp(bound)} (held-out ≤ ${pp(held.high)}); a refit would save ${pp(Math.max(0, gain))} escalations < ${pp(knobs.minGain)}`,
      );
    }
    const since =
      state.lastChangeMs === undefined ? Number.POSITIVE_INFINITY : input.clock.now() - state.lastChangeMs;
    if (since < knobs.minIntervalMs) {
      return decision(
        'hold',
        `the current policy meets ${pp(bound)}; last change ${Math.round(since / 1000)} s ago, under the ${Math.round(knobs.minIntervalMs / 1000)} s minimum`,
      );
    }
  }
  return decision(
    'refit',
    `re-fitted on ${fit.length} records${stepped}: held-out disagreement ${pp(checked.estimate)} (≤ ${pp(checked.high)}) vs ${pp(held.estimate)} (≤ ${pp(held.high)}) now; objective ≤ ${pp(bound)}`,
    next,
  );
}

/**
 * The conservative fallback after a drift alarm with too few records to re-fit (fallback.ts): the
 * thresholds placed from the score quantiles of the records since the alarm, so that the cloud answers
 * about `fallbackCloudShare` of its budget and the device only what it is surest of. It waits for
 * `minFallbackRecords` (weak-reference checks run on them first), moves by bounded steps, and is
 * re-placed as records arrive during the alarm only when that would move at least `fallbackTolerance`
 * of the traffic between tiers; after the alarm it holds until a refit replaces it.
 */
function conservative(
  input: ControllerInput,
  knobs: ControllerKnobs,
  figures: ControllerFigures,
  reason: string,
): ControllerDecision {
  const { policy: current, records } = input;
  const hold = (why: string): ControllerDecision => ({
    action: 'hold',
    why: `drift alarm and ${reason}; ${why}`,
    figures,
  });
  if (figures.nEff < knobs.minFallbackRecords) {
    return hold(
      `waiting for ${knobs.minFallbackRecords} records since the alarm to place the fallback (${figures.nEff.toFixed(0)} so far)`,
    );
  }
  const target = fallbackTarget(records, current, input.maxCloudShare, knobs);
  const next: CascadePolicy = {
    device: stepStage(current.device, target.device, knobs.maxStep),
    edge: stepStage(current.edge, target.edge, knobs.maxStep),
  };
  const show = (p: CascadePolicy) =>
    `device ${p.device.score} ≥ ${p.device.threshold.toFixed(3)}, edge ${p.edge.score} ≥ ${p.edge.threshold.toFixed(3)}`;
  // Hysteresis in traffic, not in score units: near 1 a small threshold move shifts a large share.
  const shares = sharesOf(records, next);
  const before = sharesOf(records, current);
  const moved = Math.max(...TIERS.map((t) => Math.abs(shares[t] - before[t])));
  if (moved < knobs.fallbackTolerance) {
    return hold(
      `the fallback is in place (${show(current)}; placing it again on these records would move < ${pp(knobs.fallbackTolerance)} of the traffic between tiers)`,
    );
  }
  if (shares.cloud > input.maxCloudShare + EPS) {
    return hold(
      `a bounded step toward the fallback would send ${pp(shares.cloud)} to the cloud, over the budget ${pp(input.maxCloudShare)}`,
    );
  }
  const stepped = samePolicy(next, target)
    ? ''
    : `, a step of at most ${knobs.maxStep} toward ${show(target)}`;
  return {
    action: 'conservative',
    policy: next,
    why: `drift alarm and ${reason}: the fallback from the score quantiles of ${records.length} records (${show(next)}${stepped}): device ${pp(shares.device)}, edge ${pp(shares.edge)}, cloud ${pp(shares.cloud)} of the traffic, budget ${pp(input.maxCloudShare)}`,
    figures,
  };
}

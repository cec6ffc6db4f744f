/**
 * The routing policy of one tier (docs/design.md "Routing"): the `routing` block of a model's
 * config.json, a device's `policy` option, the edge's overrides and the calibrator's output are all
 * this one type. A tier answers locally when its model's score reaches the threshold.
 */
import { FoglineError } from '../errors.ts';
import { isScoreKind, SCORE_KINDS, type ScoreKind } from './score-kind.ts';

export interface RoutingPolicy {
  readonly score: ScoreKind;
  /** Answer locally when score >= threshold; null = not calibrated yet: UNCALIBRATED_THRESHOLDS applies. */
  readonly threshold: number | null;
}

/** A policy with its threshold settled: what a tier applies to each request. */
export interface ResolvedPolicy extends RoutingPolicy {
  readonly threshold: number;
}

/**
 * Thresholds used while a policy is uncalibrated (`threshold: null`), by device and edge alike: a
 * model-independent guess that escalates the clearly uncertain inputs rather than none.
 * `fogline calibrate` replaces them with values fitted on the calibration split.
 */
export const UNCALIBRATED_THRESHOLDS: Readonly<Record<ScoreKind, number>> = Object.freeze({
  maxprob: 0.9,
  margin: 0.8,
  entropy: 0.75,
});

/** The policy when nothing (options, config.json) gives one. */
export const DEFAULT_POLICY: RoutingPolicy = Object.freeze({ score: 'maxprob', threshold: null });

/**
 * Scores are ≤ 1, so this threshold means "never answer locally, always escalate"; the calibrator
 * writes it where its sweep chose an infinite threshold (JSON has no Infinity).
 */
export const ALWAYS_ESCALATE_THRESHOLD = 1.01;

/** Reports the first problem with a policy field; must throw. */
export type PolicyFieldError = (field: 'score' | 'threshold', problem: string) => never;

const failAsOption: PolicyFieldError = (field, problem) => {
  throw new FoglineError('INVALID_ARG', `policy.${field} ${problem}`, {
    details: { field: `policy.${field}` },
  });
};

function isThreshold(value: unknown): value is number {
  return typeof value === 'number' && ((value >= 0 && value <= 1) || value === ALWAYS_ESCALATE_THRESHOLD);
}

/**
 * Validates an untrusted policy (an option, a config.json block), keeping `threshold: null` as
 * given. `fail` names the field in the caller's terms; by default errors read `policy.<field> ...`.
 */
export function parseRoutingPolicy(raw: unknown, fail: PolicyFieldError = failAsOption): RoutingPolicy {
  const p = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (!isScoreKind(p.score)) fail('score', `must be one of ${SCORE_KINDS.join(', ')}`);
  const threshold = p.threshold ?? null;
  if (threshold !== null && !isThreshold(threshold)) {
    fail(
      'threshold',
      `must be null, a number in [0, 1] or ${ALWAYS_ESCALATE_THRESHOLD} (always escalate), got ${String(p.threshold)}`,
    );
  }
  return Object.freeze({ score: p.score as ScoreKind, threshold: threshold as number | null });
}

/** Validates a policy and settles its threshold (null → the uncalibrated one for its score). */
export function resolvePolicy(raw: unknown, fail?: PolicyFieldError): ResolvedPolicy {
  const policy = parseRoutingPolicy(raw, fail);
  return Object.freeze({
    ...policy,
    threshold: policy.threshold ?? UNCALIBRATED_THRESHOLDS[policy.score],
  });
}

/**
 * The device's routing rule (DESIGN.md "One inference, end to end", step 1): answer locally when the
 * tiny model's score reaches the threshold, else escalate to the edge if there is budget left.
 */
import { FoglineError } from '@fogline/shared/errors';
import { UNCALIBRATED_THRESHOLDS } from '@fogline/shared/model-repository/config';
import { isScoreKind, type ScoreKind } from '@fogline/shared/scores';

/** The `routing` block of a model config: answer locally when `score >= threshold`. */
export interface EscalationPolicy {
  readonly score: ScoreKind;
  /** null = not calibrated yet: DEFAULT_THRESHOLDS[score] applies. */
  readonly threshold: number | null;
}

/** Thresholds used while a policy is uncalibrated: one table for every tier (model-repository/config.ts). */
export const DEFAULT_THRESHOLDS = UNCALIBRATED_THRESHOLDS;

/** Policy when neither the options nor a config.json next to the model give one. */
export const DEFAULT_POLICY: EscalationPolicy = Object.freeze({ score: 'maxprob', threshold: null });

export interface ResolvedPolicy {
  readonly score: ScoreKind;
  readonly threshold: number;
}

export function resolvePolicy(policy: unknown): ResolvedPolicy {
  const p = policy as Partial<EscalationPolicy> | null;
  if (typeof p !== 'object' || p === null || !isScoreKind(p.score)) {
    throw new FoglineError('INVALID_ARG', `policy.score must be one of maxprob, margin, entropy`);
  }
  const threshold = p.threshold ?? DEFAULT_THRESHOLDS[p.score];
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
    throw new FoglineError(
      'INVALID_ARG',
      `policy.threshold must be null or a number in [0, 1], got ${p.threshold}`,
    );
  }
  return Object.freeze({ score: p.score, threshold });
}

export type RoutingDecision = 'answer' | 'escalate' | 'no-budget';

/**
 * `answer`: confident. `no-budget`: not confident but too little time left for a round trip, so the
 * local answer is the best one within the deadline (not degraded, like the edge's rule). Else escalate.
 */
export function decideRouting(
  score: number,
  policy: ResolvedPolicy,
  remainingMs: number,
  minEscalationMs: number,
): RoutingDecision {
  // A NaN score is never confident: `NaN >= t` is false.
  if (score >= policy.threshold) return 'answer';
  return remainingMs >= minEscalationMs ? 'escalate' : 'no-budget';
}

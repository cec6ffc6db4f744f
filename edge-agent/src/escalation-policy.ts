/**
 * The edge's routing decision for one request (DESIGN.md "One inference, end to end", step 3): after
 * the mid model has scored the input, answer locally, escalate to the cloud, or answer locally
 * flagged `degraded` because the cloud cannot be used right now. Pure: every input is a value.
 *
 * `degraded` means "answered locally only because the cloud was unavailable" (breaker open). A request
 * whose remaining budget is too small for a cloud round trip is a normal local answer: the device asked
 * for an answer within that budget, and the edge gave the best one that fits.
 */
import { type ScoreKind, UNCALIBRATED_THRESHOLDS } from '@fogline/shared/model-repository/index';

export interface RoutingThreshold {
  readonly score: ScoreKind;
  /** Answer locally when score >= threshold. */
  readonly threshold: number;
}

/** Thresholds used while a policy is uncalibrated: one table for every tier (model-repository/config.ts). */
export const DEFAULT_THRESHOLDS = UNCALIBRATED_THRESHOLDS;

export function resolveThreshold(policy: { score: ScoreKind; threshold: number | null }): RoutingThreshold {
  return { score: policy.score, threshold: policy.threshold ?? DEFAULT_THRESHOLDS[policy.score] };
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface EscalationInput {
  /** The edge model's confidence score for this input. */
  readonly score: number;
  readonly threshold: number;
  /** Budget left (ms) once the local answer is ready. */
  readonly remainingMs: number;
  /** Smallest budget (ms) worth spending on a cloud round trip right now. */
  readonly cloudBudgetMs: number;
  readonly breaker: BreakerState;
}

export type EscalationDecision =
  | { readonly action: 'answer'; readonly reason: 'confident' | 'no-budget' }
  | { readonly action: 'degrade'; readonly reason: 'breaker-open' }
  | { readonly action: 'escalate' };

export function decideEscalation(input: EscalationInput): EscalationDecision {
  // A NaN score (never confident) escalates: `NaN >= t` is false.
  if (input.score >= input.threshold) return { action: 'answer', reason: 'confident' };
  if (!(input.remainingMs >= input.cloudBudgetMs)) return { action: 'answer', reason: 'no-budget' };
  if (input.breaker === 'open') return { action: 'degrade', reason: 'breaker-open' };
  return { action: 'escalate' };
}

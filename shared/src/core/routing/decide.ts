/**
 * The one routing rule of the cascade (docs/design.md "One inference, end to end", steps 1 and 3):
 * after a tier's model has scored the input, answer locally, pass it one tier up, or answer locally
 * because too little time is left for the round trip. Device and edge both decide with `decide`;
 * each adds only what is its own on top (the edge's circuit breaker). Pure: every input is a value.
 */
import type { ResolvedPolicy } from './policy.ts';

/** Whether a tier answers this input itself. A NaN score is never confident: `NaN >= t` is false. */
export function isConfident(score: number, policy: ResolvedPolicy): boolean {
  return score >= policy.threshold;
}

export interface EscalationBudget {
  /** Budget left (ms) once the local answer is ready. */
  readonly remainingMs: number;
  /** Smallest budget (ms) worth spending on a round trip to the next tier right now. */
  readonly minEscalationMs: number;
}

/**
 * `answer`: confident. `escalate`: not confident and the budget covers a round trip.
 * `no-budget`: not confident, but the local answer is the best one within the deadline — a normal
 * answer, not a degraded one: the caller asked for an answer within that budget.
 */
export type RoutingDecision = 'answer' | 'escalate' | 'no-budget';

export function decide(score: number, policy: ResolvedPolicy, budget: EscalationBudget): RoutingDecision {
  if (isConfident(score, policy)) return 'answer';
  // A NaN budget never covers a round trip.
  return budget.remainingMs >= budget.minEscalationMs ? 'escalate' : 'no-budget';
}

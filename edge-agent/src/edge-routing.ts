/**
 * The edge's routing step for one request (docs/design.md "One inference, end to end", step 3): the
 * core decision (`decide`, the same rule the device applies) plus what is the edge's own, its circuit
 * breaker. Pure: every input is a value.
 *
 * `degraded` means "answered locally only because the cloud was unavailable" (breaker open). A request
 * whose remaining budget is too small for a cloud round trip is a normal local answer: the device asked
 * for an answer within that budget, and the edge gave the best one that fits.
 */
import { decide, type EscalationBudget, type ResolvedPolicy } from '@fogline/shared';
import type { BreakerState } from './cloud-breaker.ts';

export interface CloudState extends EscalationBudget {
  readonly breaker: BreakerState;
}

export type EdgeDecision =
  | { readonly action: 'answer'; readonly reason: 'confident' | 'no-budget' }
  | { readonly action: 'degrade'; readonly reason: 'breaker-open' }
  | { readonly action: 'escalate' };

/** The four decisions, built once: one is read per request. */
const DECISIONS = Object.freeze({
  confident: Object.freeze({ action: 'answer', reason: 'confident' }),
  noBudget: Object.freeze({ action: 'answer', reason: 'no-budget' }),
  breakerOpen: Object.freeze({ action: 'degrade', reason: 'breaker-open' }),
  escalate: Object.freeze({ action: 'escalate' }),
} as const);

export function decideAtEdge(score: number, policy: ResolvedPolicy, cloud: CloudState): EdgeDecision {
  switch (decide(score, policy, cloud)) {
    case 'answer':
      return DECISIONS.confident;
    case 'no-budget':
      return DECISIONS.noBudget;
    case 'escalate':
      return cloud.breaker === 'open' ? DECISIONS.breakerOpen : DECISIONS.escalate;
  }
}

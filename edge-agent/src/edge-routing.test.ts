import { describe, expect, it } from 'vitest';
import { decideAtEdge } from './edge-routing.ts';

const policy = { score: 'maxprob', threshold: 0.8 } as const;
const cloud = { remainingMs: 500, minEscalationMs: 20, breaker: 'closed' } as const;

describe('decideAtEdge', () => {
  it('answers locally when the edge model is confident, whatever the cloud state', () => {
    for (const breaker of ['closed', 'open', 'half-open'] as const) {
      expect(decideAtEdge(0.9, policy, { ...cloud, breaker })).toEqual({
        action: 'answer',
        reason: 'confident',
      });
    }
  });

  it('escalates an uncertain input when there is budget and the breaker lets calls through', () => {
    expect(decideAtEdge(0.5, policy, cloud)).toEqual({ action: 'escalate' });
    expect(decideAtEdge(0.5, policy, { ...cloud, breaker: 'half-open' })).toEqual({ action: 'escalate' });
  });

  it('answers locally, degraded, when the breaker is open', () => {
    expect(decideAtEdge(0.5, policy, { ...cloud, breaker: 'open' })).toEqual({
      action: 'degrade',
      reason: 'breaker-open',
    });
  });

  it('gives a normal (not degraded) local answer when the budget cannot cover a cloud round trip', () => {
    expect(decideAtEdge(0.5, policy, { ...cloud, remainingMs: 19 })).toEqual({
      action: 'answer',
      reason: 'no-budget',
    });
    // Even with the breaker open: the cloud was never an option for this request.
    expect(decideAtEdge(0.5, policy, { ...cloud, remainingMs: 5, breaker: 'open' })).toEqual({
      action: 'answer',
      reason: 'no-budget',
    });
  });

  it('treats a NaN score as not confident', () => {
    expect(decideAtEdge(Number.NaN, policy, cloud)).toEqual({ action: 'escalate' });
  });
});

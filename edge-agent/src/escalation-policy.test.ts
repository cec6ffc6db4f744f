import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, decideEscalation, resolveThreshold } from './escalation-policy.ts';

const base = { score: 0.5, threshold: 0.8, remainingMs: 500, cloudBudgetMs: 20, breaker: 'closed' as const };

describe('decideEscalation', () => {
  it('answers locally when the edge model is confident, whatever the cloud state', () => {
    for (const breaker of ['closed', 'open', 'half-open'] as const) {
      expect(decideEscalation({ ...base, score: 0.9, breaker })).toEqual({
        action: 'answer',
        reason: 'confident',
      });
    }
  });

  it('escalates an uncertain input when there is budget and the breaker lets calls through', () => {
    expect(decideEscalation(base)).toEqual({ action: 'escalate' });
    expect(decideEscalation({ ...base, breaker: 'half-open' })).toEqual({ action: 'escalate' });
  });

  it('answers locally, degraded, when the breaker is open', () => {
    expect(decideEscalation({ ...base, breaker: 'open' })).toEqual({
      action: 'degrade',
      reason: 'breaker-open',
    });
  });

  it('gives a normal (not degraded) local answer when the budget cannot cover a cloud round trip', () => {
    expect(decideEscalation({ ...base, remainingMs: 19 })).toEqual({ action: 'answer', reason: 'no-budget' });
    // Even with the breaker open: the cloud was never an option for this request.
    expect(decideEscalation({ ...base, remainingMs: 5, breaker: 'open' })).toEqual({
      action: 'answer',
      reason: 'no-budget',
    });
  });

  it('treats a NaN score as not confident', () => {
    expect(decideEscalation({ ...base, score: Number.NaN })).toEqual({ action: 'escalate' });
  });
});

describe('resolveThreshold', () => {
  it('keeps a calibrated threshold and falls back to the documented default when it is null', () => {
    expect(resolveThreshold({ score: 'margin', threshold: 0.42 })).toEqual({
      score: 'margin',
      threshold: 0.42,
    });
    expect(resolveThreshold({ score: 'entropy', threshold: null })).toEqual({
      score: 'entropy',
      threshold: DEFAULT_THRESHOLDS.entropy,
    });
  });
});

import { describe, expect, it } from 'vitest';
import { decide, isConfident } from './decide.ts';

const policy = { score: 'maxprob', threshold: 0.8 } as const;
const budget = { remainingMs: 500, minEscalationMs: 20 };

describe('decide', () => {
  it('answers locally when the score reaches the threshold, whatever the budget', () => {
    expect(decide(0.8, policy, budget)).toBe('answer');
    expect(decide(0.9, policy, { remainingMs: 0, minEscalationMs: 20 })).toBe('answer');
  });

  it('escalates an uncertain input when the budget covers a round trip', () => {
    expect(decide(0.5, policy, budget)).toBe('escalate');
    expect(decide(0.5, policy, { remainingMs: 20, minEscalationMs: 20 })).toBe('escalate');
  });

  it('keeps the local answer when too little time is left for a round trip', () => {
    expect(decide(0.5, policy, { remainingMs: 19, minEscalationMs: 20 })).toBe('no-budget');
    expect(decide(0.5, policy, { remainingMs: Number.NaN, minEscalationMs: 20 })).toBe('no-budget');
  });

  it('treats a NaN score as not confident', () => {
    expect(isConfident(Number.NaN, policy)).toBe(false);
    expect(decide(Number.NaN, policy, budget)).toBe('escalate');
  });

  it('never answers at the always-escalate threshold, even on a one-hot score of 1', () => {
    expect(decide(1, { score: 'maxprob', threshold: 1.01 }, budget)).toBe('escalate');
  });
});

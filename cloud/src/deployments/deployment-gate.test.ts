/**
 * The gate's counts and their judgement: pairs where both models agree carry no comparison; a model
 * that loses many discordant pairs fails once the minimum is reached; one that loses none passes
 * within the limit; too few pairs stay pending whatever they say.
 */
import { pairsNeeded } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { addPair, judgeGate, NO_PAIRS, type ShadowPair } from './deployment-gate.ts';

const pair = (edgeLabel: number, shadowLabel: number, referenceLabel = 1): ShadowPair => ({
  edgeModel: 'm:2',
  shadowModel: 'm:1',
  edgeLabel,
  shadowLabel,
  referenceLabel,
});
const gate = { minPaired: 40, maxDrop: 0.05, shadowMs: 600_000 };

function counts(bothRight: number, oldOnly: number, newOnly: number, bothWrong = 0) {
  let c = NO_PAIRS;
  for (let i = 0; i < bothRight; i++) c = addPair(c, pair(1, 1));
  for (let i = 0; i < oldOnly; i++) c = addPair(c, pair(2, 1));
  for (let i = 0; i < newOnly; i++) c = addPair(c, pair(1, 2));
  for (let i = 0; i < bothWrong; i++) c = addPair(c, pair(3, 2));
  return c;
}

describe('accuracy gate counts', () => {
  it('counts pairs, each model right, and the discordant pairs', () => {
    expect(counts(5, 2, 1, 1)).toEqual({
      paired: 9,
      newCorrect: 6,
      oldCorrect: 7,
      newOnlyCorrect: 1,
      oldOnlyCorrect: 2,
    });
  });

  it('fails a model that answers worse (permuted labels) on the minimum of pairs', () => {
    const verdict = judgeGate(counts(2, 38, 0), gate);
    expect(verdict.verdict).toBe('fail');
    expect(verdict.drop).toBeCloseTo(0.95);
    expect(verdict.reason).toMatch(/38\/40 less often/);
  });

  it('stays pending below the minimum, however clear', () => {
    expect(judgeGate(counts(0, 39, 0), gate).verdict).toBe('pending');
  });

  it('passes a model that loses no discordant pair once the bound is within the limit, as many pairs as pairsNeeded says', () => {
    // 0 % true drop, 5 % limit, 10 % discordant split evenly (k a multiple of 20 keeps it exact).
    const n = pairsNeeded(0, 0.05, { discordance: 0.1 });
    const at = (k: number) => judgeGate(counts(k * 0.9, k * 0.05, k * 0.05), gate).verdict;
    const twenties = (x: number) => Math.ceil(x / 20) * 20;
    expect(at(twenties(n))).toBe('pass');
    expect(at(twenties(n * 0.5))).toBe('pending');
  });

  it('stays pending while the bound straddles the limit', () => {
    expect(judgeGate(counts(32, 6, 2), gate).verdict).toBe('pending');
  });
});

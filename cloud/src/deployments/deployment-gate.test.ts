/**
 * The gate's counts and its stand-in judge: pairs where both models agree carry no comparison; a
 * model that loses many discordant pairs fails once the minimum is reached; one that loses none
 * passes within the limit; too few pairs stay pending whatever they say.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  addPair,
  interimPairedGate,
  judgeGate,
  NO_PAIRS,
  pairedRecordsNeeded,
  type ShadowPair,
} from './deployment-gate.ts';

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
    expect(verdict.reason).toMatch(/on 40 paired records/);
  });

  it('stays pending below the minimum, however clear', () => {
    expect(judgeGate(counts(0, 39, 0), gate).verdict).toBe('pending');
  });

  it('passes a model that loses no discordant pair once the bound is within the limit', () => {
    expect(judgeGate(counts(38, 1, 1), gate).verdict).toBe('pending'); // 40 pairs, 5 % discordant: not yet (operations.md: ≈ 54)
    expect(judgeGate(counts(78, 1, 1), gate).verdict).toBe('pass');
  });

  it('stays pending while the bound straddles the limit', () => {
    expect(
      interimPairedGate({ paired: 40, newOnlyCorrect: 2, oldOnlyCorrect: 6, minPaired: 40, maxDrop: 0.05 })
        .verdict,
    ).toBe('pending');
  });
});

describe('docs/operations.md "Rollout"', () => {
  it('tabulates the paired records the gate needs as pairedRecordsNeeded computes them', () => {
    const docs = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
    const pctOf = (s: string) => Number(s) / 100;
    const rows = [
      ...docs.matchAll(/^\| [^|]+ \| ([\d.]+) % +\| ([\d.]+) % +\| ([\d.]+) % +\| ([\d,]+) +\|$/gm),
    ];
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const [, drop, limit, d, n] of rows) {
      const needed = pairedRecordsNeeded(pctOf(d!), pctOf(drop!), pctOf(limit!));
      expect(needed, `drop ${drop} %, limit ${limit} %, d ${d} %`).toBe(Number(n!.replaceAll(',', '')));
    }
  });

  it('needs as many pairs as it says: at that n the judge decides, well below it not', () => {
    // 0 % true drop, 5 % limit, 10 % discordant split evenly (k a multiple of 20 keeps d exact).
    const n = pairedRecordsNeeded(0.1, 0, 0.05);
    const at = (k: number) => judgeGate(counts(k * 0.9, k * 0.05, k * 0.05), gate).verdict;
    const twenties = (x: number) => Math.ceil(x / 20) * 20;
    expect(at(twenties(n))).toBe('pass');
    expect(at(twenties(n * 0.7))).toBe('pending');
  });
});

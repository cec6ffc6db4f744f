import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { weightedWilsonInterval, wilsonInterval } from './wilson.ts';

describe('Wilson score interval', () => {
  it.each([
    // Published 95 % Wilson bounds (e.g. Newcombe 1998, Table I method 3).
    [0, 10, 0, 0.2775],
    [1, 10, 0.0179, 0.4042],
    [5, 10, 0.2366, 0.7634],
    [10, 10, 0.7225, 1],
  ])('%i of %i: [%f, %f]', (k, n, low, high) => {
    const r = wilsonInterval(k, n);
    expect(r.estimate).toBe(k / n);
    expect(r.low).toBeCloseTo(low, 4);
    expect(r.high).toBeCloseTo(high, 4);
    expect(r).toMatchObject({ n, nEff: n });
  });

  it('says nothing is known from no records: [0, 1], no estimate', () => {
    expect(wilsonInterval(0, 0)).toEqual({ estimate: Number.NaN, low: 0, high: 1, n: 0, nEff: 0 });
    expect(weightedWilsonInterval([])).toEqual({ estimate: Number.NaN, low: 0, high: 1, n: 0, nEff: 0 });
  });

  it('refuses counts that are not 0 <= k <= n integers, and weights that are not > 0', () => {
    expect(() => wilsonInterval(3, 2)).toThrow(/0 <= k <= n/);
    expect(() => wilsonInterval(1.5, 2)).toThrow(/0 <= k <= n/);
    expect(() => weightedWilsonInterval([{ success: true, weight: 0 }])).toThrow(/weights/);
    expect(() => wilsonInterval(1, 2, 0)).toThrow(/z must be > 0/);
  });

  it('holds the estimate inside [low, high] within [0, 1], and narrows as records grow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, share) => {
          const k = Math.round(share * n);
          const r = wilsonInterval(k, n);
          expect(r.low).toBeGreaterThanOrEqual(0);
          expect(r.high).toBeLessThanOrEqual(1);
          expect(r.low).toBeLessThanOrEqual(r.estimate + 1e-12);
          expect(r.high).toBeGreaterThanOrEqual(r.estimate - 1e-12);
          const four = wilsonInterval(4 * k, 4 * n);
          expect(four.high - four.low).toBeLessThan(r.high - r.low);
        },
      ),
    );
  });

  it('weighted by 1/p: the weighted share, on Kish effective size', () => {
    // Three records audited at p = 0.5 agree, one audited at p = 0.1 does not.
    const r = weightedWilsonInterval([
      { success: true, weight: 2 },
      { success: true, weight: 2 },
      { success: true, weight: 2 },
      { success: false, weight: 10 },
    ]);
    expect(r.estimate).toBeCloseTo(6 / 16, 12);
    expect(r.nEff).toBeCloseTo(256 / 112, 12);
    expect(r.n).toBe(4);
    // Fewer effective records than 4 equal ones: a wider interval than 4 records at the same share.
    const w = wilsonInterval(3, 8);
    expect(r.high - r.low).toBeGreaterThan(w.high - w.low);
  });

  it('with equal weights is the plain interval, whatever the weight', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 1, max: 1000, noNaN: true }),
        (outcomes, weight) => {
          const r = weightedWilsonInterval(outcomes.map((success) => ({ success, weight })));
          const plain = wilsonInterval(outcomes.filter(Boolean).length, outcomes.length);
          expect(r.nEff).toBeCloseTo(outcomes.length, 6);
          expect(r.estimate).toBeCloseTo(plain.estimate, 9);
          expect(r.low).toBeCloseTo(plain.low, 6);
          expect(r.high).toBeCloseTo(plain.high, 6);
        },
      ),
    );
  });
});

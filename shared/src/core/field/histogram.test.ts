import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binOf, fractionsOf, histogram, psi, quantileEdges, readPsi } from './histogram.ts';

const uniform = (n: number) => Array.from({ length: n }, (_, i) => (i + 0.5) / n);

describe('quantile bins', () => {
  it('cut a continuous sample into bins of equal share', () => {
    const sample = uniform(1000);
    const edges = quantileEdges(sample, 10);
    expect(edges).toHaveLength(11);
    expect(edges[0]).toBe(0);
    expect(edges[10]).toBe(1);
    expect(histogram(sample, edges)).toEqual(new Array(10).fill(100));
  });

  it('give a point mass at 1 one bin of its own, and no empty or repeated bin', () => {
    // 40 % of margins exactly 1 (the tiny model is certain), the rest spread below.
    const sample = [...uniform(600).map((v) => v * 0.9), ...new Array(400).fill(1)];
    const edges = quantileEdges(sample, 10);
    expect(edges.length - 1).toBe(7);
    const counts = histogram(sample, edges);
    expect(counts.at(-1)).toBe(400);
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(edges.at(-2)).toBeGreaterThan(0.9 * (599.5 / 600));
    expect(edges.at(-2)).toBeLessThan(1);
  });

  it('give a point mass at 0 one bin of its own', () => {
    const sample = [...new Array(600).fill(0), ...uniform(400)];
    const edges = quantileEdges(sample, 10);
    const counts = histogram(sample, edges);
    expect(counts[0]).toBe(600);
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(edges.length - 1).toBe(5);
  });

  it('a constant sample is one bin', () => {
    expect(quantileEdges([0.7, 0.7, 0.7], 10)).toEqual([0, 1]);
  });

  it('refuse an empty sample, values outside the range, NaN', () => {
    expect(() => quantileEdges([], 10)).toThrow(/empty/);
    expect(() => quantileEdges([0.5, 1.2], 10)).toThrow(/\[0, 1\]/);
    expect(() => quantileEdges([0.5, Number.NaN], 10)).toThrow(/\[0, 1\]/);
    expect(() => histogram([0.5], [0, 0.5, 0.5, 1])).toThrow(/strictly increasing/);
    expect(() => histogram([Number.NaN], [0, 1])).toThrow(/NaN/);
  });

  it('for any sample, ties included: strictly increasing edges in range, at most the bins asked, none empty', () => {
    const score = fc.oneof(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom(0, 1, 0.5, 0.999_999_999_999_999_9),
    );
    fc.assert(
      fc.property(
        fc.array(score, { minLength: 1, maxLength: 400 }),
        fc.integer({ min: 1, max: 20 }),
        (sample, bins) => {
          const edges = quantileEdges(sample, bins);
          expect(edges[0]).toBe(0);
          expect(edges.at(-1)).toBe(1);
          for (let i = 1; i < edges.length; i++) expect(edges[i]).toBeGreaterThan(edges[i - 1]!);
          expect(edges.length - 1).toBeLessThanOrEqual(bins);
          const counts = histogram(sample, edges);
          expect(counts.every((c) => c > 0)).toBe(true);
          expect(counts.reduce((a, b) => a + b, 0)).toBe(sample.length);
        },
      ),
    );
  });

  it('bin values on the half-open rule, the outer bins open-ended', () => {
    const edges = [0, 0.25, 0.5, 1];
    expect([0, 0.2499, 0.25, 0.5, 1, 1.5, -0.1].map((v) => binOf(v, edges))).toEqual([0, 0, 1, 2, 2, 2, 0]);
  });
});

describe('population stability index', () => {
  it('is 0 for the same distribution, counts or shares alike', () => {
    expect(psi([10, 20, 70], [1, 2, 7])).toBeCloseTo(0, 12);
  });

  it('is Σ (o − e)·ln(o/e)', () => {
    expect(psi([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.4 * Math.log(1.8) + 0.4 * Math.log(5), 12);
  });

  it('an empty bin costs a large but finite amount (epsilon)', () => {
    const v = psi([0.5, 0.5], [1, 0]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo(0.5 * Math.log(2) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4), 12);
    expect(readPsi(v)).toBe('shifted');
  });

  it('is >= 0 and symmetric', () => {
    const hist = fc
      .array(fc.integer({ min: 0, max: 1000 }), { minLength: 5, maxLength: 5 })
      .filter((h) => h.some((c) => c > 0));
    fc.assert(
      fc.property(hist, hist, (a, b) => {
        const v = psi(a, b);
        expect(v).toBeGreaterThanOrEqual(-1e-12);
        expect(v).toBeCloseTo(psi(b, a), 9);
      }),
    );
  });

  it('refuses histograms on different bins or with no mass', () => {
    expect(() => psi([1, 2], [1, 2, 3])).toThrow(/same number of bins/);
    expect(() => psi([0, 0], [1, 2])).toThrow(/not all 0/);
    expect(() => fractionsOf([1, -1, 2])).toThrow(/>= 0/);
  });

  it('reads as stable below 0.1, moderate to 0.25, shifted above', () => {
    expect([0.05, 0.1, 0.25, 0.26].map(readPsi)).toEqual(['stable', 'moderate', 'moderate', 'shifted']);
  });
});

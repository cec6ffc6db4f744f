/**
 * The edge's latency histogram, as published in telemetry (docs/edge-agent.md "Cloud link"):
 * counts[i] holds the samples in (boundsMs[i-1], boundsMs[i]], the last count everything above.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_LATENCY_BUCKETS_MS, LatencyHistogram } from './latency-histogram.ts';

function histogramOf(samples: readonly number[], bounds?: readonly number[]): LatencyHistogram {
  const h = new LatencyHistogram(bounds);
  for (const ms of samples) h.observe(ms);
  return h;
}

describe('LatencyHistogram buckets', () => {
  it('starts empty: one zero count per bound plus the overflow bucket', () => {
    const s = new LatencyHistogram().snapshot();
    expect(s.boundsMs).toEqual([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]);
    expect(s.counts).toEqual(new Array(13).fill(0));
    expect(s).toMatchObject({ count: 0, sumMs: 0 });
  });

  it('puts a sample exactly on a bound in that bound’s bucket (upper bound inclusive)', () => {
    const s = histogramOf([1, 2, 5, 5000]).snapshot();
    expect(s.counts[0]).toBe(1);
    expect(s.counts[1]).toBe(1);
    expect(s.counts[2]).toBe(1);
    expect(s.counts[11]).toBe(1);
    expect(s.counts[12]).toBe(0);
  });

  it('puts a sample just above a bound in the next bucket, and 0 in the first', () => {
    const s = histogramOf([0, 1.0001, 2.5, 10.5]).snapshot();
    expect(s.counts.slice(0, 5)).toEqual([1, 1, 1, 0, 1]);
  });

  it('counts samples above the last bound in the overflow bucket', () => {
    const s = histogramOf([5000.001, 60_000, 1e9]).snapshot();
    expect(s.counts.at(-1)).toBe(3);
    expect(s.counts.slice(0, -1).every((c) => c === 0)).toBe(true);
  });

  it('keeps count equal to the sum of the bucket counts, and sumMs the sum of the samples', () => {
    const samples = [0.4, 1, 3, 3, 7.5, 49, 250, 999, 4000, 9000];
    const s = histogramOf(samples).snapshot();
    expect(s.count).toBe(samples.length);
    expect(s.counts.reduce((a, b) => a + b, 0)).toBe(samples.length);
    expect(s.sumMs).toBeCloseTo(
      samples.reduce((a, b) => a + b, 0),
      9,
    );
  });

  it('ignores negative, NaN and infinite samples, so count, sumMs and the JSON stay valid', () => {
    const h = histogramOf([-1, -0.001, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3]);
    const s = h.snapshot();
    expect(s.count).toBe(1);
    expect(s.sumMs).toBe(3);
    expect(s.counts[2]).toBe(1);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('uses custom bounds', () => {
    const s = histogramOf([0.5, 1, 10, 11], [1, 10]).snapshot();
    expect(s.boundsMs).toEqual([1, 10]);
    expect(s.counts).toEqual([2, 1, 1]);
  });

  it('refuses bounds that are empty, unsorted, repeated, negative or not finite', () => {
    for (const bad of [[], [5, 2], [1, 1, 2], [-1, 5], [1, Number.NaN], [1, Number.POSITIVE_INFINITY]]) {
      expect(() => new LatencyHistogram(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARG' }),
      );
    }
  });

  it('is not affected by later changes to the bounds array it was built from', () => {
    const bounds = [1, 10];
    const h = new LatencyHistogram(bounds);
    bounds[0] = 100;
    h.observe(5);
    expect(h.snapshot()).toMatchObject({ boundsMs: [1, 10], counts: [0, 1, 0] });
  });
});

describe('LatencyHistogram snapshot', () => {
  it('is a copy: later samples and edits to the snapshot do not leak either way', () => {
    const h = histogramOf([3]);
    const before = h.snapshot();
    (before.counts as number[])[2] = 99;
    (before.boundsMs as number[])[0] = 99;
    h.observe(3);
    const after = h.snapshot();
    expect(after.counts[2]).toBe(2);
    expect(after.boundsMs[0]).toBe(1);
    expect(before.count).toBe(1);
  });

  it('does not let a caller alter the default bounds', () => {
    expect(Object.isFrozen(DEFAULT_LATENCY_BUCKETS_MS)).toBe(true);
  });
});

describe('LatencyHistogram quantiles', () => {
  it('is 0 while empty', () => {
    expect(new LatencyHistogram().quantileUpperBoundMs(0.5)).toBe(0);
  });

  it('returns the upper bound of the bucket holding the quantile', () => {
    // 50 samples ≤ 1 ms, 40 in (5, 10], 9 in (100, 200], 1 above 5000.
    const samples = [...new Array(50).fill(0.5), ...new Array(40).fill(8), ...new Array(9).fill(150), 6000];
    const h = histogramOf(samples);
    expect(h.quantileUpperBoundMs(0.5)).toBe(1);
    expect(h.quantileUpperBoundMs(0.51)).toBe(10);
    expect(h.quantileUpperBoundMs(0.9)).toBe(10);
    expect(h.quantileUpperBoundMs(0.95)).toBe(200);
    expect(h.quantileUpperBoundMs(0.99)).toBe(200);
    expect(h.quantileUpperBoundMs(1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('takes q = 0 as the smallest sample, not the first bucket when that one is empty', () => {
    const h = histogramOf([30, 40]);
    expect(h.quantileUpperBoundMs(0)).toBe(50);
  });

  it('is exact where q × count lands on a bucket edge despite float rounding (0.55 × 100)', () => {
    const h = histogramOf([...new Array(55).fill(1), ...new Array(45).fill(2)]);
    expect(h.quantileUpperBoundMs(0.55)).toBe(1);
    expect(h.quantileUpperBoundMs(0.56)).toBe(2);
  });

  it('refuses q outside [0, 1] or NaN', () => {
    const h = histogramOf([1, 2, 3]);
    for (const q of [-0.1, 1.5, Number.NaN]) {
      expect(() => h.quantileUpperBoundMs(q), String(q)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARG' }),
      );
    }
  });
});

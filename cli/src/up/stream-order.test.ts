import { loadDigits } from '@fogline/shared/digits';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STREAM_SEED, deviceSampleStream, shuffledIndices } from './stream-order.ts';

describe('stream order of the simulated devices', () => {
  it('is a permutation of the split, the same for the same seed and another for another seed', () => {
    const order = shuffledIndices(1500, 7);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(shuffledIndices(1500, 7)).toEqual(order);
    expect(shuffledIndices(1500, 8)).not.toEqual(order);
  });

  it('mixes the labels of the test split, which is stored by label', () => {
    const { labels, count } = loadDigits('test');
    const order = shuffledIndices(count, DEFAULT_STREAM_SEED);
    // What a short run sees: the first 30 digits of each of 20 devices (20 × 5 req/s × 6 s).
    const seen = new Array<number>(10).fill(0);
    for (let k = 0; k < 20; k++) {
      const next = deviceSampleStream(order, k, 20);
      for (let n = 0; n < 30; n++) seen[labels[next()]!]!++;
    }
    // Every digit shows up at about its share of the split (~10 %), not 0s and 1s only.
    for (const n of seen) expect(n / 600).toBeGreaterThan(0.06);
    for (const n of seen) expect(n / 600).toBeLessThan(0.14);
    // Even one device's first ten digits are not all the same label.
    const first = deviceSampleStream(order, 0, 20);
    expect(new Set(Array.from({ length: 10 }, () => labels[first()])).size).toBeGreaterThan(3);
  });

  it('starts each device at its own offset and wraps around the split', () => {
    const order = shuffledIndices(100, 1);
    const starts = Array.from({ length: 4 }, (_, k) => deviceSampleStream(order, k, 4)());
    expect(starts).toEqual([order[0], order[25], order[50], order[75]]);
    const last = deviceSampleStream(order, 3, 4);
    const stream = Array.from({ length: 26 }, () => last());
    expect(stream.slice(0, 25)).toEqual([...order.slice(75)]);
    expect(stream[25]).toBe(order[0]);
  });
});

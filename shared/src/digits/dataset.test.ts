import { describe, expect, it } from 'vitest';
import { isFoglineError } from '../core/errors.ts';
import { DIGIT_PIXELS, digitsSplitIndices, loadDigits } from './dataset.ts';

function classCounts(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

describe('loadDigits', () => {
  it('gives 7,000 train, 1,500 calibration and 1,500 test digits', () => {
    for (const [split, n] of [
      ['train', 7000],
      ['calibration', 1500],
      ['test', 1500],
    ] as const) {
      const d = loadDigits(split);
      expect(d.count).toBe(n);
      expect(d.labels.length).toBe(n);
      expect(d.images.length).toBe(n * DIGIT_PIXELS);
    }
  });

  it('balances calibration and test at 150 digits per class, every class in train', () => {
    expect(classCounts(loadDigits('calibration').labels)).toEqual(new Array(10).fill(150));
    expect(classCounts(loadDigits('test').labels)).toEqual(new Array(10).fill(150));
    expect(Math.min(...classCounts(loadDigits('train').labels))).toBeGreaterThan(500);
  });

  it('keeps the three splits disjoint and covering all 10,000 digits', () => {
    const seen = new Set<number>();
    for (const split of ['train', 'calibration', 'test'] as const) {
      for (const i of digitsSplitIndices(split)) {
        expect(seen.has(i)).toBe(false);
        seen.add(i);
      }
    }
    expect(seen.size).toBe(10_000);
  });

  it('returns pixel values in [0,1] with ink = 1 on a dark background', () => {
    const { images, count } = loadDigits('test');
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of images) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // Ink is the minority: the mean pixel is well below 0.5, and corners are background (0).
    const mean = images.reduce((s, v) => s + v, 0) / images.length;
    expect(mean).toBeLessThan(0.25);
    for (let i = 0; i < count; i++) expect(images[i * DIGIT_PIXELS]).toBe(0);
  });

  it('caches each split', () => {
    expect(loadDigits('test')).toBe(loadDigits('test'));
  });

  it('rejects an unknown split with INVALID_ARG', () => {
    try {
      loadDigits('validation' as never);
      expect.unreachable();
    } catch (e) {
      expect(isFoglineError(e) && e.code).toBe('INVALID_ARG');
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FoglineError } from '../errors.ts';
import { isScoreKind, SCORE_KINDS } from './score-kind.ts';
import {
  argmax,
  argmaxRows,
  entropyConfidence,
  margin,
  maxprob,
  scoreLogitRows,
  scoreOf,
  softmax,
} from './scores.ts';

describe('softmax', () => {
  it('matches the textbook formula on small logits and sums to 1', () => {
    const p = softmax([1, 2, 3]);
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const z = e[0]! + e[1]! + e[2]!;
    expect(Array.from(p)).toEqual(e.map((v) => expect.closeTo(v / z, 12)));
  });

  it('stays finite for logits like 1e4 and -1e4', () => {
    expect(Array.from(softmax([1e4, 0, -1e4]))).toEqual([1, 0, 0]);
    const p = softmax([1e4, 1e4 - Math.LN2]);
    expect(p[0]).toBeCloseTo(2 / 3, 9);
    expect(p[1]).toBeCloseTo(1 / 3, 9);
    expect(Array.from(softmax(Float32Array.of(-1e4, 1e4)))).toEqual([0, 1]);
    expect(Array.from(softmax([-1e4, -1e4]))).toEqual([0.5, 0.5]);
  });

  it('reads one row of a batch with offset and k', () => {
    const logits = Float32Array.of(9, 9, 0, 0, 5, 1);
    expect(Array.from(softmax(logits, 2, 2))).toEqual([0.5, 0.5]);
    expect(argmax(logits, 4, 2)).toBe(0);
  });

  it('takes the argmax of every row, the first one on ties, and of no rows when K = 0', () => {
    expect(Array.from(argmaxRows(Float32Array.of(9, 9, 0, 3, 5, 1), 2))).toEqual([0, 1, 0]);
    expect(Array.from(argmaxRows(Float32Array.of(1, 7, 7, 2, 0, 0), 3))).toEqual([1, 0]);
    expect(argmaxRows(new Float32Array(0), 0)).toHaveLength(0);
  });

  it('handles infinite logits and refuses NaN or bad rows', () => {
    expect(Array.from(softmax([Number.POSITIVE_INFINITY, 1, Number.POSITIVE_INFINITY]))).toEqual([
      0.5, 0, 0.5,
    ]);
    expect(Array.from(softmax([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]))).toEqual([0.5, 0.5]);
    expect(() => softmax([1, Number.NaN])).toThrow(FoglineError);
    expect(() => softmax([1, 2], 1, 2)).toThrow(/outside 2 values/);
    expect(() => softmax([])).toThrow(FoglineError);
  });

  it('is a probability distribution for any finite logits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 20 }),
        (l) => {
          const p = softmax(l);
          expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
          expect(p[argmax(l)]).toBe(maxprob(p));
          for (const kind of SCORE_KINDS) {
            const s = scoreOf(kind, p);
            expect(s).toBeGreaterThanOrEqual(0);
            expect(s).toBeLessThanOrEqual(1);
          }
        },
      ),
    );
  });
});

describe('routing scores', () => {
  const uniform = new Float64Array(10).fill(0.1);
  const oneHot = Float64Array.from({ length: 10 }, (_, i) => (i === 3 ? 1 : 0));

  it('uniform p is least confident, one-hot p most confident', () => {
    expect(entropyConfidence(uniform)).toBeCloseTo(0, 12);
    expect(entropyConfidence(oneHot)).toBe(1);
    expect(maxprob(uniform)).toBeCloseTo(0.1, 12);
    expect(maxprob(oneHot)).toBe(1);
    expect(margin(uniform)).toBeCloseTo(0, 12);
    expect(margin(oneHot)).toBe(1);
  });

  it('margin is p1 - p2 whatever the order', () => {
    expect(margin([0.2, 0.5, 0.3])).toBeCloseTo(0.2, 12);
    expect(margin([0.45, 0.1, 0.45])).toBe(0);
    expect(margin([1])).toBe(1);
  });

  it('entropy confidence of a two-class split matches 1 - H/ln 2', () => {
    const h = -(0.9 * Math.log(0.9) + 0.1 * Math.log(0.1));
    expect(entropyConfidence([0.9, 0.1])).toBeCloseTo(1 - h / Math.LN2, 12);
  });

  it('scoreOf dispatches by kind, and kinds are recognised', () => {
    const p = [0.7, 0.2, 0.1];
    expect(scoreOf('maxprob', p)).toBe(0.7);
    expect(scoreOf('margin', p)).toBeCloseTo(0.5, 12);
    expect(scoreOf('entropy', p)).toBe(entropyConfidence(p));
    expect(isScoreKind('margin')).toBe(true);
    expect(isScoreKind('max')).toBe(false);
  });

  it('scores a [N, K] batch row by row', () => {
    const logits = Float32Array.of(0, 0, 10, /* row 2 */ 5, 5, 5, /* row 3 */ -1e4, 1e4, 0);
    const { labels, scores } = scoreLogitRows(logits, 3, 'entropy');
    expect(Array.from(labels)).toEqual([2, 0, 1]);
    expect(scores[0]).toBeGreaterThan(0.99);
    expect(scores[1]).toBeCloseTo(0, 12);
    expect(scores[2]).toBe(1);
    expect(() => scoreLogitRows(logits, 4, 'maxprob')).toThrow(/do not form rows of 4/);
  });
});

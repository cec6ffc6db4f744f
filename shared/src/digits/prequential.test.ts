import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scorePrequential, windowsOf } from './prequential.ts';

describe('scorePrequential', () => {
  it('fits policy k on windows before k only and scores window k with policy k only', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.integer(), { maxLength: 5 }), { maxLength: 12 }), (windows) => {
        const seenByFit: number[][] = [];
        const steps = scorePrequential({
          windows: windows.map((values, id) => ({ id, values })),
          fit: (past, k) => {
            seenByFit.push(past.map((w) => w.id));
            return { k, mean: past.flatMap((w) => w.values).reduce((a, b) => a + b, 0) };
          },
          score: (policy, window) => ({ policy: policy.k, window: window.id }),
        });
        // Fit k saw exactly windows 0..k-1: never the window it is judged on, never a later one.
        for (const [k, ids] of seenByFit.entries())
          expect(ids).toEqual(Array.from({ length: k }, (_, i) => i));
        for (const [k, s] of steps.entries()) expect(s.score).toEqual({ policy: k, window: k });
        return steps.length === windows.length;
      }),
    );
  });

  it('a fit that memorises its data gains nothing prequentially on fresh windows', () => {
    // Each window holds one value; the "policy" is the last value seen. Scored in-sample it would be
    // perfect; prequentially it is right only where a window repeats the one before.
    const values = [1, 1, 2, 3, 3, 3, 4];
    const steps = scorePrequential({
      windows: values,
      fit: (past) => past.at(-1),
      score: (policy, window) => (policy === window ? 1 : 0),
    });
    expect(steps.map((s) => s.score)).toEqual([0, 1, 0, 0, 1, 1, 0]);
  });

  it('the past a fit gets cannot be changed by it', () => {
    scorePrequential({
      windows: [1, 2, 3],
      fit: (past) => expect(() => (past as number[]).push(9)).toThrow(TypeError),
      score: () => 0,
    });
  });
});

describe('windowsOf', () => {
  it('cuts consecutive windows, the last one shorter', () => {
    expect(windowsOf(1050, 500)).toEqual([
      { start: 0, end: 500 },
      { start: 500, end: 1000 },
      { start: 1000, end: 1050 },
    ]);
    expect(windowsOf(0, 10)).toEqual([]);
    expect(() => windowsOf(10, 0)).toThrow(RangeError);
  });
});

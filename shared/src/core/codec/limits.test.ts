import { describe, expect, it } from 'vitest';
import { DEFAULT_CODEC_LIMITS, resolveLimits } from './limits.ts';

describe('resolveLimits', () => {
  it('fills defaults and refuses non-integers', () => {
    expect(resolveLimits({ maxRank: 3 })).toEqual({ ...DEFAULT_CODEC_LIMITS, maxRank: 3 });
    expect(() => resolveLimits({ maxElements: 1.5 })).toThrow(/maxElements/);
  });

  it('resolves a frozen object once, and a mutable one on every call', () => {
    const frozen = Object.freeze({ maxElements: 10 });
    expect(resolveLimits(frozen)).toBe(resolveLimits(frozen));
    const mutable = { maxElements: 100 };
    expect(resolveLimits(mutable).maxElements).toBe(100);
    mutable.maxElements = 1;
    expect(resolveLimits(mutable).maxElements).toBe(1);
    Object.freeze(mutable); // frozen after it was resolved: its current values count
    expect(resolveLimits(mutable).maxElements).toBe(1);
  });
});

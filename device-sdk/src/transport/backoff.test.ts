import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.ts';

const options = { initialDelayMs: 100, maxDelayMs: 1_000 };

describe('reconnect backoff', () => {
  it('doubles from the initial delay up to the cap', () => {
    const high = (n: number) => backoffDelayMs(n, options, () => 0.999999);
    expect([0, 1, 2, 3, 4, 10, 100].map(high)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('keeps at least half of each step so retries never hammer the broker', () => {
    expect(backoffDelayMs(0, options, () => 0)).toBe(50);
    expect(backoffDelayMs(20, options, () => 0)).toBe(500);
  });
});

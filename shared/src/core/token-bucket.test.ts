import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { FoglineError } from './errors.ts';
import { TokenBucket } from './token-bucket.ts';

function bucket(ratePerSec: number, burst: number) {
  const clock = new ManualClock(1_000);
  return { clock, bucket: new TokenBucket({ ratePerSec, burst, clock }) };
}

describe('TokenBucket', () => {
  it('starts full: exactly burst requests pass, burst + 1 is refused', () => {
    const { bucket: b } = bucket(10, 5);
    for (let i = 0; i < 5; i++) expect(b.tryTake()).toEqual({ ok: true });
    expect(b.tryTake()).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('refills continuously and caps at burst', () => {
    const { clock, bucket: b } = bucket(10, 5);
    for (let i = 0; i < 5; i++) b.tryTake();
    clock.advance(250);
    expect(b.tokens).toBeCloseTo(2.5, 9);
    expect(b.tryTake(2)).toEqual({ ok: true });
    expect(b.tryTake()).toEqual({ ok: false, retryAfterMs: 50 });
    clock.advance(60_000);
    expect(b.tokens).toBe(5);
    expect(b.tryTake(5)).toEqual({ ok: true });
    expect(b.tryTake()).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('supports fractional rates', () => {
    const { clock, bucket: b } = bucket(0.5, 1);
    expect(b.tryTake().ok).toBe(true);
    expect(b.tryTake()).toEqual({ ok: false, retryAfterMs: 2000 });
    clock.advance(1999);
    expect(b.tryTake()).toEqual({ ok: false, retryAfterMs: 1 });
    clock.advance(1);
    expect(b.tryTake().ok).toBe(true);
  });

  it('a refused take consumes nothing', () => {
    const { clock, bucket: b } = bucket(1, 3);
    b.tryTake(3);
    clock.advance(1500);
    expect(b.tryTake(2)).toEqual({ ok: false, retryAfterMs: 500 });
    expect(b.tokens).toBeCloseTo(1.5, 9);
  });

  it('waiting exactly retryAfterMs always lets the request through, and not much earlier', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 10_000, noNaN: true }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 50 })), {
          maxLength: 20,
        }),
        (rate, burst, steps) => {
          const { clock, bucket: b } = bucket(rate, burst);
          for (const [waitMs, want] of steps) {
            clock.advance(waitMs);
            const n = Math.min(want, burst);
            const result = b.tryTake(n);
            if (result.ok) continue;
            expect(result.retryAfterMs).toBeGreaterThanOrEqual(1);
            const missing = n - b.tokens;
            // One ms early is too early (unless the shortfall is within float noise).
            clock.advance(result.retryAfterMs - 1);
            if (missing - ((result.retryAfterMs - 1) * rate) / 1000 > 1e-6)
              expect(b.tryTake(n).ok).toBe(false);
            clock.advance(1);
            expect(b.tryTake(n)).toEqual({ ok: true });
          }
        },
      ),
    );
  });

  it('validates its configuration and requests', () => {
    const clock = new ManualClock();
    for (const [ratePerSec, burst] of [
      [0, 1],
      [-1, 1],
      [Number.NaN, 1],
      [Number.POSITIVE_INFINITY, 1],
      [1, 0],
      [1, 0.5],
    ] as const) {
      expect(() => new TokenBucket({ ratePerSec, burst, clock })).toThrow(FoglineError);
    }
    const b = new TokenBucket({ ratePerSec: 1, burst: 2, clock });
    expect(() => b.tryTake(3)).toThrow(/cannot take 3 tokens \(burst is 2\)/);
    expect(() => b.tryTake(0)).toThrow(FoglineError);
  });

  it('uses the system clock by default', () => {
    const b = new TokenBucket({ ratePerSec: 1, burst: 1 });
    expect(b.tryTake().ok).toBe(true);
    expect(b.tryTake().ok).toBe(false);
  });
});

describe('ManualClock', () => {
  it('moves only forward and only when told', () => {
    const clock = new ManualClock(5);
    clock.advance(10);
    expect(clock.now()).toBe(15);
    clock.set(20);
    expect(clock.now()).toBe(20);
    expect(() => clock.set(19)).toThrow(FoglineError);
    expect(() => clock.advance(-1)).toThrow(FoglineError);
  });
});

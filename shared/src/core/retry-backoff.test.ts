import { describe, expect, it } from 'vitest';
import { FoglineError } from './errors.ts';
import {
  backoffCeilingMs,
  equalJitterDelayMs,
  fullJitterDelayMs,
  isTransientFailure,
  RetryBackoff,
} from './retry-backoff.ts';

const o = { initialDelayMs: 1000, maxDelayMs: 300_000 };

describe('backoff waits', () => {
  const reconnect = { initialDelayMs: 100, maxDelayMs: 1_000 };

  it('doubles the ceiling from the initial delay up to the cap', () => {
    expect([0, 1, 2, 3, 4, 10, 100].map((n) => backoffCeilingMs(n, reconnect))).toEqual([
      100, 200, 400, 800, 1_000, 1_000, 1_000,
    ]);
    const high = (n: number) => equalJitterDelayMs(n, reconnect, () => 0.999999);
    expect([0, 1, 2, 3, 4, 10, 100].map(high)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('equal jitter keeps at least half of each step, so reconnects never hammer the broker', () => {
    expect(equalJitterDelayMs(0, reconnect, () => 0)).toBe(50);
    expect(equalJitterDelayMs(20, reconnect, () => 0)).toBe(500);
  });
});

describe('retry backoff with full jitter', () => {
  it('draws in [0, min(max, initial × 2^n)]', () => {
    expect([0, 1, 2, 8, 9, 60].map((n) => fullJitterDelayMs(n, o, () => 0.999_999))).toEqual([
      1000, 2000, 4000, 256_000, 300_000, 300_000,
    ]);
    expect(fullJitterDelayMs(5, o, () => 0)).toBe(0);
    expect(fullJitterDelayMs(1, o, () => 0.5)).toBe(1000);
  });

  it('retries a failure on the way, not a refusal or a wrong file', () => {
    const status = (code: 'UNAVAILABLE' | 'UNAUTHENTICATED', httpStatus: number) =>
      new FoglineError(code, 'x', { details: { httpStatus } });
    expect(isTransientFailure(new FoglineError('UNAVAILABLE', 'body broke off'))).toBe(true);
    expect(isTransientFailure(new FoglineError('DEADLINE_EXCEEDED', 'no answer within 60000 ms'))).toBe(true);
    expect([503, 500, 502, 408, 429].map((s) => isTransientFailure(status('UNAVAILABLE', s)))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(isTransientFailure(status('UNAVAILABLE', 404))).toBe(false);
    expect(isTransientFailure(status('UNAVAILABLE', 403))).toBe(false);
    expect(isTransientFailure(status('UNAUTHENTICATED', 401))).toBe(false);
    expect(isTransientFailure(new FoglineError('NOT_FOUND', 'x'))).toBe(false);
    expect(isTransientFailure(new FoglineError('INVALID_ARG', 'sha256'))).toBe(false);
  });

  it('counts its retries, runs one at a time, and cancel() leaves none', async () => {
    const b = new RetryBackoff({ initialDelayMs: 10, maxDelayMs: 10 }, () => 0.5);
    const ran: string[] = [];
    expect(b.schedule(() => ran.push('a'))).toBe(5);
    b.schedule(() => ran.push('b'));
    expect([b.attempt, b.pending]).toEqual([2, true]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ran).toEqual(['b']);
    b.schedule(() => ran.push('c'));
    b.cancel();
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect([ran, b.pending, b.attempt]).toEqual([['b'], false, 3]);
    b.reset();
    expect(b.attempt).toBe(0);
  });
});

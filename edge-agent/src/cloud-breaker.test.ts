import { FoglineError } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { type BreakerState, CloudBreaker } from './cloud-breaker.ts';

const failing = () => Promise.reject(new FoglineError('UNAVAILABLE', 'cloud down'));
const waitFor = async (check: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('CloudBreaker', () => {
  it('opens after repeated failures, then refuses at once without calling the cloud', async () => {
    const changes: BreakerState[] = [];
    const breaker = new CloudBreaker({ volumeThreshold: 3, resetTimeoutMs: 60_000 }, (s) => changes.push(s));
    try {
      for (let i = 0; i < 3; i++) await expect(breaker.fire(failing)).rejects.toThrow('cloud down');
      expect(breaker.state).toBe('open');
      let called = false;
      const refusal = await breaker
        .fire(async () => {
          called = true;
        })
        .catch((e: unknown) => e);
      expect(called).toBe(false);
      expect(refusal).toMatchObject({ code: 'UNAVAILABLE', details: { refused: true } });
      expect(changes).toEqual(['open']);
      expect(breaker.openCount).toBe(1);
    } finally {
      breaker.shutdown();
    }
  });

  it('opens after a run of failures even when the window still holds many earlier successes', async () => {
    const breaker = new CloudBreaker({ volumeThreshold: 3, consecutiveFailures: 4, resetTimeoutMs: 60_000 });
    try {
      for (let i = 0; i < 20; i++) await breaker.fire(async () => 'ok');
      for (let i = 0; i < 3; i++) await breaker.fire(failing).catch(() => {});
      expect(breaker.state).toBe('closed'); // 3 of 23 failed: far from 50 %, and not yet 4 in a row
      await breaker.fire(async () => 'ok'); // a success breaks the run
      for (let i = 0; i < 3; i++) await breaker.fire(failing).catch(() => {});
      expect(breaker.state).toBe('closed');
      await breaker.fire(failing).catch(() => {});
      expect(breaker.state).toBe('open');
      expect(breaker.openCount).toBe(1);
    } finally {
      breaker.shutdown();
    }
    expect(() => new CloudBreaker({ consecutiveFailures: 0 })).toThrow(/positive integer/);
  });

  it('lets one probe through after the reset timeout and closes when it succeeds', async () => {
    const breaker = new CloudBreaker({ volumeThreshold: 2, resetTimeoutMs: 100 });
    try {
      for (let i = 0; i < 2; i++) await breaker.fire(failing).catch(() => {});
      expect(breaker.state).toBe('open');
      await waitFor(() => breaker.state === 'half-open');
      expect(await breaker.fire(async () => 'answer')).toBe('answer');
      expect(breaker.state).toBe('closed');
    } finally {
      breaker.shutdown();
    }
  });

  it('does not count a request the cloud refused as malformed against the cloud', async () => {
    const breaker = new CloudBreaker({ volumeThreshold: 2 });
    try {
      for (let i = 0; i < 5; i++) {
        await breaker
          .fire(() => Promise.reject(new FoglineError('INVALID_ARG', 'bad shape')))
          .catch(() => {});
      }
      expect(breaker.state).toBe('closed');
    } finally {
      breaker.shutdown();
    }
  });
});

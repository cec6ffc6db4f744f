import { describe, expect, it } from 'vitest';
import { ScryptPool } from './scrypt-pool.ts';
import { hashSecret, verifySecret } from './secrets.ts';

describe('ScryptPool', () => {
  it('runs at most maxInFlight at once, queues maxQueued, and refuses beyond at once with UNAVAILABLE', async () => {
    const pool = new ScryptPool({ maxInFlight: 2, maxQueued: 3 });
    let running = 0;
    let most = 0;
    const releases: Array<() => void> = [];
    const work = () =>
      new Promise<void>((resolve) => {
        running++;
        most = Math.max(most, running);
        releases.push(() => {
          running--;
          resolve();
        });
      });
    const accepted = Array.from({ length: 5 }, () => pool.run(work));
    await expect(pool.run(work)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(pool.load).toEqual({ inFlight: 2, queued: 3, started: 2, refused: 1 });
    while (releases.length > 0 || running > 0) {
      releases.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(accepted);
    expect(most).toBe(2);
    expect(pool.load).toEqual({ inFlight: 0, queued: 0, started: 5, refused: 1 });
  });

  it('frees its slot when the work fails', async () => {
    const pool = new ScryptPool({ maxInFlight: 1, maxQueued: 0 });
    await expect(pool.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await pool.run(async () => 7)).toBe(7);
  });

  it('is what verifySecret runs through: many concurrent checks all answer', async () => {
    const encoded = await hashSecret('right');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => verifySecret(i === 0 ? 'right' : 'wrong', encoded)),
    );
    expect(answers).toEqual([true, ...Array(7).fill(false)]);
  });
});

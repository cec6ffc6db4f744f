import { randomBytes } from 'node:crypto';
import { AuthThrottle } from '@fogline/shared/secrets';
import { afterEach, describe, expect, it } from 'vitest';
import { startOwnRedis } from '../../../test/support/own-redis.ts';
import { type Cluster, openCluster } from './cluster.ts';
import { sharedAuthBudgets } from './shared-auth-budgets.ts';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const opened: Cluster[] = [];
afterEach(async () => void (await Promise.all(opened.splice(0).map((c) => c.close()))));

const ADDRESS = '203.0.113.7';
const BURST = 6;

/** Two replicas' throttles on one Redis; `settle` waits until each one's mirror calls have answered. */
async function throttles(url = REDIS_URL, log?: (line: string) => void) {
  const prefix = `fogline:test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  return Promise.all(
    [0, 1].map(async () => {
      const cluster = await openCluster({ url });
      opened.push(cluster);
      const throttle = new AuthThrottle({
        perAddress: { ratePerSec: 0.01, burst: BURST },
        share: sharedAuthBudgets(cluster, { prefix, log }),
      });
      // One connection answers in order: once PING is back, every mirror call sent before it is too
      // (and once the promise jobs queued by then have run, their answers are applied).
      const settle = async () => {
        await cluster.redis.ping();
        await new Promise((resolve) => setImmediate(resolve));
      };
      return { throttle, settle };
    }),
  );
}

describe('sharedAuthBudgets', () => {
  it('gives an address spreading failures over two replicas ONE budget, not one per replica', async () => {
    const [a, b] = await throttles();
    let failures = 0;
    for (let i = 0; a!.throttle.begin(ADDRESS).ok || b!.throttle.begin(ADDRESS).ok; i++) {
      const replica = i % 2 === 0 ? a! : b!;
      if (!replica.throttle.begin(ADDRESS).ok) continue;
      replica.throttle.failed(ADDRESS);
      failures++;
      await replica.settle();
      expect(failures).toBeLessThanOrEqual(BURST + 2);
    }
    // The budget once, plus at most one failure per replica that had not yet heard it ran dry.
    expect(failures).toBeGreaterThanOrEqual(BURST);
    expect(failures).toBeLessThanOrEqual(BURST + 2);
    expect(a!.throttle.blockedFor(ADDRESS)).toBeGreaterThan(0);
    expect(b!.throttle.blockedFor(ADDRESS)).toBeGreaterThan(0);
    expect(a!.throttle.begin('198.51.100.1').ok).toBe(true); // other addresses are not affected
  });

  it('a reservation released (a right credential) costs the shared budget nothing', async () => {
    const [a, b] = await throttles();
    for (let i = 0; i < 3 * BURST; i++) {
      const replica = i % 2 === 0 ? a! : b!;
      const gate = await replica.throttle.reserve(ADDRESS);
      if (!gate.ok) throw new Error(`refused: ${gate.reason}`);
      gate.reservation.release();
      await replica.settle();
    }
    expect(a!.throttle.begin(ADDRESS).ok).toBe(true);
    expect(b!.throttle.begin(ADDRESS).ok).toBe(true);
  });

  it('keeps each replica’s own budget when Redis is gone, with one log line', async () => {
    const redis = await startOwnRedis();
    const lines: string[] = [];
    const [a] = await throttles(redis.url, (line) => lines.push(line));
    await redis.kill();
    for (let i = 0; i < BURST; i++) {
      expect(a!.throttle.begin(ADDRESS).ok).toBe(true);
      a!.throttle.failed(ADDRESS);
    }
    expect(a!.throttle.begin(ADDRESS).ok).toBe(false);
    await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(1);
    expect(lines[0]).toMatch(/failed-authentication budgets: .*each replica keeps its own/);
  });
});

import { randomBytes } from 'node:crypto';
import type { TakeResult } from '@fogline/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { startOwnRedis } from '../../../test/support/own-redis.ts';
import { type Cluster, openCluster } from './cluster.ts';
import { leaseSize, SharedTokenBuckets } from './shared-token-buckets.ts';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const opened: Cluster[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

/** Two replicas: two connections to one Redis, two bucket sets under one unique prefix. */
async function replicas(url = REDIS_URL, log?: (line: string) => void, leaseMs?: number) {
  const prefix = `fogline:test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const pair = await Promise.all(
    [0, 1].map(async () => {
      const cluster = await openCluster({ url });
      opened.push(cluster);
      return new SharedTokenBuckets(cluster, { name: 'edge', prefix, log, leaseMs });
    }),
  );
  return pair as [SharedTokenBuckets, SharedTokenBuckets];
}

const take = async (buckets: SharedTokenBuckets, rate: { ratePerSec: number; burst: number }) =>
  await buckets.take('edge-1', rate);

describe('SharedTokenBuckets', () => {
  it('keeps ONE limit for two replicas on one Redis: burst 10 admits 10 in all, not 20', async () => {
    const [a, b] = await replicas();
    const rate = { ratePerSec: 0.01, burst: 10 };
    const results: TakeResult[] = [];
    for (let i = 0; i < 20; i++) results.push(await take(i % 2 === 0 ? a : b, rate));
    expect(results.filter((r) => r.ok)).toHaveLength(10);
    const refused = results.find((r) => !r.ok);
    expect(refused).toEqual({ ok: false, retryAfterMs: expect.any(Number) });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(50_000); // 1 token at 0.01/s
  });

  it('refills: a refused replica is admitted again once the retry time it was given has passed', async () => {
    const [a, b] = await replicas();
    const rate = { ratePerSec: 20, burst: 2 };
    expect((await take(a, rate)).ok).toBe(true);
    expect((await take(b, rate)).ok).toBe(true);
    let refused = await take(b, rate);
    while (refused.ok) refused = await take(b, rate); // tokens refilled while the box was slow
    expect(refused.retryAfterMs).toBeLessThanOrEqual(50);
    await new Promise((r) => setTimeout(r, refused.ok ? 0 : refused.retryAfterMs + 5));
    expect((await take(a, rate)).ok).toBe(true);
  });

  it('spends a local lease without Redis, and the replicas together never pass the burst', async () => {
    const [a, b] = await replicas(REDIS_URL, undefined, 600_000); // a lease that outlasts a slow box
    const rate = { ratePerSec: 0.01, burst: 400 };
    const lease = leaseSize(rate);
    expect(lease).toBe(10);
    expect((await take(a, rate)).ok).toBe(true); // a leases 10 tokens, spends 1
    let admittedB = 0;
    for (let result = await take(b, rate); result.ok; result = await take(b, rate)) admittedB++;
    // b is refused while a still holds 9 unspent tokens: the bound is one lease per other replica.
    expect(admittedB).toBe(400 - lease);
    let admittedA = 1;
    for (;;) {
      const result = a.take('edge-1', rate);
      if (result instanceof Promise) break; // the lease is spent: a asks Redis again
      expect(result.ok).toBe(true);
      admittedA++;
    }
    expect(admittedA).toBe(lease);
    expect((await a.take('edge-1', rate)).ok).toBe(false);
  });

  it('falls back to a local bucket at its share when Redis goes away, logs once, and never hangs', async () => {
    const redis = await startOwnRedis();
    cleanups.push(() => redis.kill());
    const lines: string[] = [];
    const [a, b] = await replicas(redis.url, (line) => lines.push(line));
    const rate = { ratePerSec: 0.01, burst: 10 };
    expect((await take(a, rate)).ok).toBe(true);
    expect((await take(b, rate)).ok).toBe(true);
    expect((await take(a, rate)).ok).toBe(true); // a has now seen both replicas: its share is 1/2
    await redis.kill();
    const started = Date.now();
    const results: TakeResult[] = [];
    for (let i = 0; i < 10; i++) results.push(await take(a, rate));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(a.local).toBe(true);
    expect(results.filter((r) => r.ok)).toHaveLength(5); // burst 10 / 2 replicas, full again locally
    expect(lines.filter((l) => l.includes('each replica keeps 1/2'))).toHaveLength(1);
  });
});

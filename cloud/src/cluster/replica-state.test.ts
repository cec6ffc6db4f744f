/**
 * Two clouds on one Redis, each with its own `--redis-key-prefix` (docs/scale-out.md "Shared state"):
 * their rate limits and their edges' desired states must not meet, even for an edge id both use.
 * The machine's Redis, prefixes unique to this run.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { PublishedDesiredState } from '../fabric/desired-state-publisher.ts';
import { type Cluster, openCluster } from './cluster.ts';
import { replicaState } from './replica-state.ts';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const opened: Cluster[] = [];
afterEach(async () => {
  const [first] = opened;
  if (first) {
    const keys = await first.redis.keys(`fogline:test:${process.pid}:*`);
    if (keys.length > 0) await first.redis.del(...keys);
  }
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

async function cloud(keyPrefix: string) {
  const cluster = await openCluster({ url: REDIS_URL, keyPrefix });
  opened.push(cluster);
  return { cluster, state: replicaState(cluster, undefined, () => {}) };
}

const published = (edgeId: string, version: number): PublishedDesiredState => {
  const message = { version, devices: [{ id: `${edgeId}-device`, tokenHash: 'scrypt$x' }], models: {} };
  return { message, payload: JSON.stringify(message) };
};

describe('replicaState', () => {
  it("keeps each cloud's rate limits and desired states under its own key prefix", async () => {
    const run = `fogline:test:${process.pid}:${randomBytes(4).toString('hex')}:`;
    const one = await cloud(`${run}one:`);
    const two = await cloud(`${run}two:`);
    const edge = `edge-${randomBytes(3).toString('hex')}`;

    const rate = { ratePerSec: 0.01, burst: 3 };
    for (let i = 0; i < 3; i++) expect((await one.state.edges!.take(edge, rate)).ok).toBe(true);
    expect((await one.state.edges!.take(edge, rate)).ok).toBe(false);
    // Cloud two's edge of the same id has its own, full bucket.
    expect((await two.state.edges!.take(edge, rate)).ok).toBe(true);

    await one.state.desiredStates!.exclusive(edge, 0, async (v) => published(edge, v));
    // Cloud two's route must not serve cloud one's state for its edge of the same id.
    expect(await two.state.desiredStates!.latest(edge)).toBeUndefined();
    expect((await one.state.desiredStates!.latest(edge))?.message.devices[0]?.id).toBe(`${edge}-device`);

    // Every key either cloud wrote is under its own prefix.
    const keys = await one.cluster.redis.keys(`*${edge}*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.startsWith(run)).toBe(true);
  });
});

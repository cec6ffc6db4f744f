/**
 * What Redis keeps of a revoked edge (docs/scale-out.md "Shared state"): two real CloudServers on one
 * PostgreSQL database and the machine's Redis under a key prefix of this test's own. An edge enrolled
 * and published to on A, revoked on B: its desired-state version and state and the broker's retained
 * desired message are gone from Redis, and A serves no stale copy of it. An edge connected to A with
 * its retained `online` and its will, revoked on B: no retained status is left (not its `online`, not
 * the `offline` of its will), and neither replica keeps a status for it.
 */
import { randomBytes } from 'node:crypto';
import { topics } from '@fogline/shared';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../store/scratch-database.ts';
import {
  closed,
  eventually,
  type FabricCloud,
  mustConnect,
  startFabricCloud,
} from '../testing/fabric-fixture.ts';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `fogline-test-${randomBytes(4).toString('hex')}:`;
let redis: Redis;
let database: ScratchDatabase;
let a: FabricCloud;
let b: FabricCloud;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  database = await createScratchDatabase();
  const replica = { databaseUrl: database.url, redisUrl: REDIS_URL, redisKeyPrefix: prefix };
  a = await startFabricCloud(replica);
  b = await startFabricCloud(replica);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await database?.drop();
  const left = await redis.keys(`${prefix}*`);
  if (left.length > 0) await redis.del(...left);
  redis.disconnect();
}, 30_000);

describe('an edge revoked on one replica', () => {
  it('leaves no desired-state keys and no retained desired message in Redis', async () => {
    const edge = `gone-${randomBytes(3).toString('hex')}`;
    const keys = [`${prefix}desired:version:${edge}`, `${prefix}desired:state:${edge}`];
    const retained = () => redis.hget(`${prefix}broker:retained`, topics.desired(edge));
    await a.admin.createEdge(edge);
    await b.admin.createDevice(`${edge}-dev`, edge);
    expect(await redis.exists(...keys)).toBe(2);
    expect(await retained()).not.toBeNull();

    await b.admin.revokeEdge(edge);
    expect(await redis.exists(...keys)).toBe(0);
    await eventually(async () => (await retained()) === null);
    expect(a.server.fabric.publisher.publishedModels(edge)).toBeUndefined();
  });

  it("leaves no retained status, neither its `online` nor its will's `offline`, on any replica", async () => {
    const edge = `gone-${randomBytes(3).toString('hex')}`;
    const retained = () => redis.hget(`${prefix}broker:retained`, topics.status(edge));
    const { token } = await a.admin.createEdge(edge);
    const will = {
      topic: topics.status(edge),
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
    };
    const client = await mustConnect(a.mqttUrl, edge, token, { will });
    try {
      await client.publishAsync(topics.status(edge), 'online', { qos: 1, retain: true });
      await eventually(async () => (await retained()) !== null);
      await eventually(() => b.server.fabric.presence.view(edge).status === 'online');

      const gone = closed(client);
      await b.admin.revokeEdge(edge);
      await gone;
      await eventually(async () => (await retained()) === null);
      await new Promise((r) => setTimeout(r, 500)); // time for a will to come, were it sent
      expect(await retained()).toBeNull();
      for (const replica of [a, b]) {
        expect(replica.server.fabric.presence.view(edge)).toMatchObject({ online: false, status: null });
      }
    } finally {
      client.end(true);
    }
  });
});

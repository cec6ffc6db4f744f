/**
 * A revocation one replica missed (docs/scale-out.md "The broker cluster"): two real CloudServers on
 * one PostgreSQL database and a redis-server of this test's own, an edge connected to B, revoked
 * through A while B's pub/sub subscriber is cut (`CLIENT KILL TYPE pubsub`, again and again, so the
 * QoS 0 revocation cannot reach it). Once B's Redis connections are whole again, B must disconnect
 * the edge and refuse it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OwnRedis, startOwnRedis } from '../../../test/support/own-redis.ts';
import { createScratchDatabase, type ScratchDatabase } from '../store/scratch-database.ts';
import {
  closed,
  connectMqtt,
  type FabricCloud,
  mustConnect,
  startFabricCloud,
} from '../testing/fabric-fixture.ts';

let redis: OwnRedis;
let database: ScratchDatabase;
let a: FabricCloud;
let b: FabricCloud;

beforeAll(async () => {
  redis = await startOwnRedis();
  database = await createScratchDatabase();
  const replica = {
    databaseUrl: database.url,
    redisUrl: redis.url,
    replicaHeartbeatMs: 200,
    models: ['digits-tiny'],
    cloudModel: 'digits-tiny',
  };
  a = await startFabricCloud(replica);
  b = await startFabricCloud(replica);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await database?.drop();
  await redis?.kill();
}, 30_000);

describe("a revocation sent while a replica's subscriber was down", () => {
  it('still disconnects and refuses the edge on that replica once its Redis connections are back', async () => {
    const { token } = await a.admin.createEdge('missed-edge');
    const onB = await mustConnect(b.mqttUrl, 'missed-edge', token);
    const admin = new Redis(redis.url);
    let cutting = true;
    let cuts = 0;
    const cut = (async () => {
      while (cutting) {
        cuts += Number(await admin.client('KILL', 'TYPE', 'pubsub'));
        await sleep(2);
      }
    })();
    try {
      await sleep(50);
      await a.admin.revokeEdge('missed-edge');
      await sleep(200);
      cutting = false;
      await cut;
      expect(cuts).toBeGreaterThan(0);
      await closed(onB, 10_000);
      const again = await connectMqtt(b.mqttUrl, 'missed-edge', token);
      if (again.ok) again.client.end(true);
      expect(again.ok).toBe(false);
    } finally {
      cutting = false;
      await cut;
      onB.end(true);
      admin.disconnect();
    }
  }, 30_000);
});

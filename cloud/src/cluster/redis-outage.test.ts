/**
 * Two cloud replicas through a Redis outage that Redis survives with its data (a restart with
 * persistence, a network cut): the broker cluster's view of which replica is alive (docs/scale-out.md
 * "The broker cluster"). Two real CloudServers in this process, real MQTT.js clients, a redis-server
 * of this test's own with an append-only file, killed and started again on the same port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topics } from '@fogline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OwnRedis, startOwnRedis } from '../../../test/support/own-redis.ts';
import { createScratchDatabase, type ScratchDatabase } from '../store/scratch-database.ts';
import { eventually, type FabricCloud, mustConnect, startFabricCloud } from '../testing/fabric-fixture.ts';

const HEARTBEAT_MS = 200;
let dir = '';
let redis: OwnRedis;
let database: ScratchDatabase;
let a: FabricCloud;
let b: FabricCloud;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-redis-outage-'));
  redis = await startOwnRedis({ appendOnlyDir: dir });
  database = await createScratchDatabase();
  const replica = {
    databaseUrl: database.url,
    redisUrl: redis.url,
    replicaHeartbeatMs: HEARTBEAT_MS,
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
  await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('two cloud replicas through a Redis outage that keeps its data', () => {
  it('keep an edge connected to B online: neither takes the other for dead and sends its wills', async () => {
    const { token } = await a.admin.createEdge('outage-edge');
    const status = topics.status('outage-edge');
    const will = { topic: status, payload: Buffer.from('offline'), qos: 1 as const, retain: true };
    const onB = await mustConnect(b.mqttUrl, 'outage-edge', token, { will });
    try {
      await onB.publishAsync(status, 'online', { qos: 1, retain: true });
      await eventually(() => a.server.fabric.presence.view('outage-edge').status === 'online');
      const seen = new Set<string>();
      const watch = setInterval(() => {
        for (const replica of [a, b])
          seen.add(String(replica.server.fabric.presence.view('outage-edge').status));
      }, 50);
      // Down for 10 heartbeats (Aedes takes a replica silent for 3 for dead), then back with its data.
      await redis.kill();
      await new Promise((resolve) => setTimeout(resolve, 10 * HEARTBEAT_MS));
      await redis.restart();
      // Long enough for several sweeps of the wills (every 4 heartbeats) once both are back.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      clearInterval(watch);
      expect(onB.connected).toBe(true);
      expect([...seen]).toEqual(['online']);
      const retained = await a.server.cluster!.redis.hgetBuffer('fogline:broker:retained', status);
      expect(retained?.toString()).toContain('online');
    } finally {
      onB.end(true);
    }
  });
});

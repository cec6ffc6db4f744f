/**
 * A cloud replica killed (SIGKILL) under its edges (docs/scale-out.md "The broker cluster"): replica A
 * is a real `fogline cloud --redis-url` process, replica B a CloudServer in this process, on one Redis
 * and one PostgreSQL database. B sees A's edges go offline once A misses its heartbeats, and sends the
 * last will A can no longer send, except for an edge that has meanwhile connected again (to B): its
 * stale `offline` must not cover its `online`.
 */
import { randomBytes } from 'node:crypto';
import { type FoglineProcess, startFoglineProcess } from '@fogline/cli/testing';
import {
  createScratchDatabase,
  eventually,
  type FabricCloud,
  makeModelRepo,
  mustConnect,
  type ScratchDatabase,
  startFabricCloud,
  tempDir,
} from '@fogline/cloud/testing';
import { topics } from '@fogline/shared';
import { Redis } from 'ioredis';
import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `fogline-test-${randomBytes(6).toString('hex')}:`;
const HEARTBEAT_MS = 300;
const CLUSTER = {
  redisUrl: REDIS_URL,
  redisKeyPrefix: PREFIX,
  replicaHeartbeatMs: HEARTBEAT_MS,
  cloudModel: 'digits-tiny',
};

let database: ScratchDatabase;
let a: FoglineProcess<{ mqtt: { url: string } }>;
let b: FabricCloud;
const clients: MqttClient[] = [];

beforeAll(async () => {
  database = await createScratchDatabase();
  b = await startFabricCloud({ ...CLUSTER, databaseUrl: database.url, models: ['digits-tiny'] });
  a = await startFoglineProcess(
    [
      'cloud',
      ...['--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0'],
      ...['--data-dir', tempDir('replica-a'), '--models', makeModelRepo(['digits-tiny'])],
      ...['--cloud-model', CLUSTER.cloudModel, '--workers', '1'],
      ...['--redis-url', REDIS_URL, '--redis-key-prefix', PREFIX],
      ...['--replica-heartbeat-ms', String(HEARTBEAT_MS)],
    ],
    { env: { DATABASE_URL: database.url } },
  );
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await a?.stop('SIGKILL');
  await b?.stop();
  await database?.drop();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}, 30_000);

/** An edge with a retained `offline` will that says `online` once connected, as an edge agent does. */
async function edgeOn(url: string, id: string, token: string): Promise<MqttClient> {
  const status = topics.status(id);
  const will: IClientOptions['will'] = {
    topic: status,
    payload: Buffer.from('offline'),
    qos: 1,
    retain: true,
  };
  const client = await mustConnect(url, id, token, { will });
  clients.push(client);
  await client.publishAsync(status, 'online', { qos: 1, retain: true });
  return client;
}

describe('a replica killed under its edges', () => {
  it("takes A's edges offline on B and sends their wills, but not the will of an edge back on B", async () => {
    const gone = await b.admin.createEdge('gone-edge');
    const back = await b.admin.createEdge('back-edge');
    await edgeOn(a.ready.mqtt.url, 'gone-edge', gone.token);
    await edgeOn(a.ready.mqtt.url, 'back-edge', back.token);
    const view = (id: string) => b.server.fabric.presence.view(id);
    await eventually(() => view('gone-edge').online && view('back-edge').online, 10_000);

    await a.stop('SIGKILL');
    // Both edges lost A at once; one of them finds B straight away.
    await edgeOn(b.mqttUrl, 'back-edge', back.token);
    // Within a few heartbeats (3 missed, then the next sweep); generous on a loaded machine.
    await eventually(() => !view('gone-edge').online, 20_000);
    await eventually(() => view('gone-edge').status === 'offline', 20_000);

    // The sweep that sent gone-edge's will dropped back-edge's: only B's own wills are left.
    const redis = new Redis(REDIS_URL, { keyPrefix: `${PREFIX}broker:` });
    const ownWill = `will:${b.server.fabric.broker.aedes.id}:`;
    const onlyOwn = async () => (await redis.lrange('will', 0, -1)).every((k) => k.startsWith(ownWill));
    await eventually(onlyOwn, 10_000).finally(() => redis.quit());
    expect(view('back-edge')).toMatchObject({ online: true, status: 'online' });
  }, 60_000);
});

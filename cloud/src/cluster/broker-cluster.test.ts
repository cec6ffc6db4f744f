/**
 * Two cloud replicas on one Redis and one PostgreSQL database (docs/scale-out.md "The broker
 * cluster"): two real CloudServers in this process, each with its own broker on real sockets, real
 * MQTT.js clients, the machine's Redis under a key prefix of this run's own.
 */
import { randomBytes } from 'node:crypto';
import { CLOUD_EDGE_ID, decodeInferMessage, encodeInferMessage, topics } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../store/scratch-database.ts';
import {
  closed,
  eventually,
  type FabricCloud,
  mustConnect,
  nextMessage,
  startFabricCloud,
} from '../testing/fabric-fixture.ts';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `fogline-test-${randomBytes(6).toString('hex')}:`;
const HEARTBEAT_MS = 200;

let database: ScratchDatabase;
let a: FabricCloud;
let b: FabricCloud;
const clients: MqttClient[] = [];
const track = (c: MqttClient) => {
  clients.push(c);
  return c;
};

beforeAll(async () => {
  database = await createScratchDatabase();
  const replica = {
    databaseUrl: database.url,
    redisUrl: REDIS_URL,
    redisKeyPrefix: PREFIX,
    replicaHeartbeatMs: HEARTBEAT_MS,
    models: ['digits-tiny'],
    cloudModel: 'digits-tiny',
  };
  a = await startFabricCloud(replica);
  b = await startFabricCloud(replica);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await a?.stop();
  await b?.stop();
  await database?.drop();
  // Everything this run left in the shared Redis.
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${PREFIX}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}, 30_000);

const reply = (deviceId: string) => topics.reply(deviceId);

/** The client ids whose wills `replica`'s broker keeps in Redis (aedes-persistence-redis' `will` list). */
async function willsKeptBy(replica: FabricCloud): Promise<string[]> {
  const mine = `will:${replica.server.fabric.broker.aedes.id}:`;
  const keys = await replica.server.cluster!.redis.lrange(`${PREFIX}broker:will`, 0, -1);
  return keys.filter((k) => k.startsWith(mine)).map((k) => decodeURIComponent(k.slice(mine.length)));
}

describe('two cloud replicas on one Redis', () => {
  it('delivers a message published on A to a subscriber connected to B', async () => {
    const { token } = await a.admin.createDevice('msg-dev', null);
    const onB = track(await mustConnect(b.mqttUrl, 'msg-dev', token));
    await onB.subscribeAsync(reply('msg-dev'), { qos: 1 });
    const got = nextMessage(onB, reply('msg-dev'));
    await a.server.fabric.broker.publish(reply('msg-dev'), 'from A');
    expect((await got).toString()).toBe('from A');
  });

  it("shows an edge's retained desired state, published by A, to the edge connecting to B", async () => {
    const { token } = await a.admin.createEdge('retained-edge'); // A publishes its desired state, retained
    const onB = track(await mustConnect(b.mqttUrl, 'retained-edge', token));
    const desired = nextMessage(onB, topics.desired('retained-edge'));
    await onB.subscribeAsync(topics.desired('retained-edge'), { qos: 1 });
    expect(JSON.parse((await desired).toString())).toHaveProperty('version');
  });

  it('sees an edge connected to A online from B, and its reported state', async () => {
    const { token } = await b.admin.createEdge('presence-edge');
    const onA = track(await mustConnect(a.mqttUrl, 'presence-edge', token));
    await eventually(async () => (await b.admin.getEdge('presence-edge')).online);
    await onA.publishAsync(topics.reported('presence-edge'), JSON.stringify({ devices: 3 }), { qos: 1 });
    await eventually(async () => (await b.admin.getEdge('presence-edge')).reported?.devices === 3);
    onA.end();
    await eventually(async () => !(await b.admin.getEdge('presence-edge')).online);
  });

  it("publishes an edge's last will from A to every replica when its connection dies", async () => {
    const { token } = await a.admin.createEdge('will-edge');
    const status = topics.status('will-edge');
    const onA = track(
      await mustConnect(a.mqttUrl, 'will-edge', token, {
        will: { topic: status, payload: Buffer.from('offline'), qos: 1, retain: true },
      }),
    );
    await onA.publishAsync(status, 'online', { qos: 1, retain: true });
    await eventually(() => b.server.fabric.presence.view('will-edge').status === 'online');
    expect(b.server.fabric.presence.view('will-edge').online).toBe(true);
    // The connection dies without DISCONNECT: A's broker sends the will, B gets it through Redis.
    (onA.stream as { destroy(): void }).destroy();
    await eventually(() => b.server.fabric.presence.view('will-edge').status === 'offline', 10_000);
    expect(b.server.fabric.presence.view('will-edge').online).toBe(false);
  });

  it('keeps an edge online when it moves from A to B: the will of its old connection is dropped', async () => {
    const { token } = await a.admin.createEdge('moving-edge');
    const status = topics.status('moving-edge');
    const will = { topic: status, payload: Buffer.from('offline'), qos: 1 as const, retain: true };
    const onA = track(await mustConnect(a.mqttUrl, 'moving-edge', token, { will }));
    await onA.publishAsync(status, 'online', { qos: 1, retain: true });
    await eventually(() => b.server.fabric.presence.view('moving-edge').status === 'online');
    const oldGone = closed(onA, 10_000);
    const onB = track(await mustConnect(b.mqttUrl, 'moving-edge', token, { will }));
    await onB.publishAsync(status, 'online', { qos: 1, retain: true });
    await oldGone;
    // A is done with the old connection once its will has left Redis (sent or dropped).
    await eventually(async () => !(await willsKeptBy(a)).includes('moving-edge'), 10_000);
    for (const replica of [a, b]) {
      expect(replica.server.fabric.presence.view('moving-edge')).toMatchObject({
        online: true,
        status: 'online',
      });
    }
  });

  it('takes a client id over from A to B with its session and the QoS 1 message queued meanwhile', async () => {
    const { token } = await a.admin.createDevice('moving-dev', null);
    const session = { clean: false };
    const first = track(await mustConnect(a.mqttUrl, 'moving-dev', token, session));
    await first.subscribeAsync(reply('moving-dev'), { qos: 1 });
    await first.endAsync();
    await a.server.fabric.broker.publish(reply('moving-dev'), 'while away', { qos: 1 });

    const second = track(await mustConnect(b.mqttUrl, 'moving-dev', token, session));
    const queued = await nextMessage(second, reply('moving-dev'));
    expect(queued.toString()).toBe('while away');

    // The same id connecting to A again takes it over from B: B closes its connection.
    const goneFromB = closed(second, 10_000);
    const third = track(await mustConnect(a.mqttUrl, 'moving-dev', token, session));
    await goneFromB;
    const live = nextMessage(third, reply('moving-dev'));
    await b.server.fabric.broker.publish(reply('moving-dev'), 'back on A', { qos: 1 });
    expect((await live).toString()).toBe('back on A');
  });

  it('disconnects an edge connected to A when B revokes it, and A refuses its token after', async () => {
    const { token } = await a.admin.createEdge('revoked-edge');
    const onA = track(await mustConnect(a.mqttUrl, 'revoked-edge', token));
    await eventually(async () => (await b.admin.getEdge('revoked-edge')).online);
    const gone = closed(onA, 10_000);
    await b.admin.revokeEdge('revoked-edge');
    await gone;
    await expect(mustConnect(a.mqttUrl, 'revoked-edge', token)).rejects.toThrow(/could not connect/);
  });

  it('answers a device with no edge connected to A exactly once, from A', async () => {
    const { token } = await b.admin.createDevice('direct-dev', null);
    const onA = track(await mustConnect(a.mqttUrl, 'direct-dev', token));
    await onA.subscribeAsync(reply('direct-dev'), { qos: 1 });
    const replies: Buffer[] = [];
    onA.on('message', (t, p) => t === reply('direct-dev') && replies.push(p));
    const image = loadDigits('test').images.subarray(0, 784);
    const request = encodeInferMessage(
      { id: 'once', parameters: { reply_to: reply('direct-dev'), deadline_ms: 5000 } },
      [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: image }],
    );
    await onA.publishAsync(topics.infer(CLOUD_EDGE_ID), Buffer.from(request), { qos: 1 });
    await eventually(() => replies.length > 0, 10_000);
    expect(decodeInferMessage(replies[0]!).kind).toBe('response');
    // Another request's answer proves the broker delivered everything sent before it.
    const second = encodeInferMessage(
      { id: 'after', parameters: { reply_to: reply('direct-dev'), deadline_ms: 5000 } },
      [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: image }],
    );
    await onA.publishAsync(topics.infer(CLOUD_EDGE_ID), Buffer.from(second), { qos: 1 });
    await eventually(() => replies.length >= 2, 10_000);
    expect(replies.map((p) => decodeInferMessage(p).header.id)).toEqual(['once', 'after']);
    expect(a.server.fabric.directDevices.stats.received).toBe(2);
    expect(b.server.fabric.directDevices.stats.received).toBe(0);
  });
});

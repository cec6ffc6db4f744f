import { createConnection } from 'node:net';
import * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { decodeInferMessage } from '../core/codec/index.ts';
import { topics } from '../core/fabric/topics.ts';
import {
  closed,
  collect,
  connectOutcome,
  grantedQos,
  inferRequest,
  startTestBroker,
  TEST_CREDENTIALS,
  type TestBroker,
  until,
} from '../testing/broker-test-kit.ts';

let t: TestBroker | undefined;
const connect = (id: string, extra = {}) => t!.connect(id, TEST_CREDENTIALS[id]!.token, extra);

afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('per-client publish token bucket', () => {
  it('drops publishes over the rate, tells the device, and keeps the connection', async () => {
    const clock = new ManualClock(); // time stands still: no refill during the test
    t = await startTestBroker(TEST_CREDENTIALS, { publishRate: { ratePerSec: 1, burst: 2 }, clock });
    const agent = await connect('agent-a');
    await grantedQos(agent, topics.infer('edge-a'));
    const atAgent = collect(agent);
    const dev = await connect('dev-1');
    await grantedQos(dev, topics.reply('dev-1'));
    const replies = collect(dev);
    for (let i = 0; i < 5; i++)
      await dev.publishAsync(topics.infer('edge-a'), inferRequest(`r${i}`, 'dev-1'), { qos: 1 });
    await until(() => atAgent.length === 2 && replies.length === 3, 2_000, 'deliveries and error replies');
    const errors = replies.map((r) => decodeInferMessage(r.payload));
    expect(errors.map((e) => [e.kind, e.header.id, e.header.parameters?.error_code])).toEqual([
      ['error', 'r2', 'RATE_LIMITED'],
      ['error', 'r3', 'RATE_LIMITED'],
      ['error', 'r4', 'RATE_LIMITED'],
    ]);
    expect(atAgent.map((m) => decodeInferMessage(m.payload).header.id)).toEqual(['r0', 'r1']);
    expect(dev.connected).toBe(true);
    expect(t.broker.stats()).toMatchObject({ rateLimited: 3, errorReplies: 3 });
    // Once the bucket refills, the device is served again.
    clock.advance(1_000);
    await dev.publishAsync(topics.infer('edge-a'), inferRequest('r5', 'dev-1'), { qos: 1 });
    await until(() => atAgent.length === 3, 2_000, 'request after refill');
  });

  it('each client has its own bucket', async () => {
    t = await startTestBroker(TEST_CREDENTIALS, {
      publishRate: { ratePerSec: 1, burst: 1 },
      clock: new ManualClock(),
    });
    const agent = await connect('agent-a');
    await grantedQos(agent, topics.infer('edge-a'));
    const atAgent = collect(agent);
    for (const id of ['dev-1', 'dev-2', 'dev-3']) {
      const dev = await connect(id);
      await dev.publishAsync(topics.infer('edge-a'), inferRequest(id, id), { qos: 1 });
    }
    await until(() => atAgent.length === 3, 2_000, 'one request per device');
    expect(t.broker.stats().rateLimited).toBe(0);
  });
});

describe('max packet size', () => {
  it('disconnects a client that sends a bigger packet, and keeps serving others', async () => {
    t = await startTestBroker(TEST_CREDENTIALS, { maxPacketBytes: 8 * 1024 });
    const dev = await connect('dev-1');
    const gone = closed(dev);
    dev.publish(topics.infer('edge-a'), Buffer.alloc(64 * 1024), { qos: 0 });
    await gone;
    expect(t.broker.stats().oversizedPackets).toBe(1);
    // A normal request from another device still goes through.
    const agent = await connect('agent-a');
    await grantedQos(agent, topics.infer('edge-a'));
    const atAgent = collect(agent);
    const dev2 = await connect('dev-2');
    await dev2.publishAsync(topics.infer('edge-a'), inferRequest('ok', 'dev-2'), { qos: 1 });
    await until(() => atAgent.length === 1, 2_000, 'normal request');
  });
});

describe('drainTimeout', () => {
  it('drops a client that stops reading its socket, instead of buffering for it forever', async () => {
    t = await startTestBroker(TEST_CREDENTIALS, { drainTimeoutMs: 300 });
    // A raw MQTT client that connects, subscribes, then never reads again.
    const socket = createConnection({ host: '127.0.0.1', port: t.addresses.mqttPort! });
    await new Promise((r) => socket.once('connect', r));
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: 0,
        clientId: 'dev-1',
        username: 'dev-1',
        password: Buffer.from('t1'),
      }),
    );
    socket.write(
      mqttPacket.generate({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: topics.reply('dev-1'), qos: 0 }],
      }),
    );
    await until(() => t!.broker.clients().length === 1, 2_000, 'raw client connected');
    await new Promise((r) => setTimeout(r, 100)); // let the SUBSCRIBE land
    socket.pause();
    const chunk = Buffer.alloc(128 * 1024);
    for (let i = 0; i < 200 && t.broker.clients().length > 0; i++) {
      await t.broker.publish(topics.reply('dev-1'), chunk, { qos: 0 });
      await new Promise((r) => setImmediate(r));
    }
    await until(() => t!.broker.clients().length === 0, 5_000, 'slow client dropped');
    socket.destroy();
  });
});

describe('connection throttling (preConnect)', () => {
  it('closes connections over the broker-wide rate before CONNACK, then accepts again', async () => {
    const clock = new ManualClock();
    t = await startTestBroker(TEST_CREDENTIALS, { connectRate: { ratePerSec: 1, burst: 2 }, clock });
    await connect('dev-1');
    await connect('dev-2');
    expect(await connectOutcome(t.url, 'dev-3', 't3')).toBe('closed');
    expect(t.broker.stats().connectRefused.throttled).toBe(1);
    clock.advance(1_000);
    await connect('dev-3');
  });

  it('refuses connections beyond maxClients', async () => {
    t = await startTestBroker(TEST_CREDENTIALS, { maxClients: 1 });
    await connect('dev-1');
    expect(await connectOutcome(t.url, 'dev-2', 't2')).toBe('closed');
    expect(t.broker.stats().connectRefused['max-clients']).toBe(1);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeInferMessage } from '../core/codec/index.ts';
import { topics } from '../core/fabric/topics.ts';
import {
  collect,
  grantedQos,
  inferRequest,
  startTestBroker,
  TEST_CREDENTIALS,
  type TestBroker,
  until,
} from '../testing/broker-test-kit.ts';

let t: TestBroker;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeEach(async () => {
  t = await startTestBroker(TEST_CREDENTIALS);
});

afterEach(async () => {
  await t.close();
});

describe('subscribe ACL (refused = granted 0x80, connection kept)', () => {
  it('a device gets its own replies only', async () => {
    const dev = await t.connect('dev-1', 't1');
    expect(await grantedQos(dev, topics.reply('dev-1'))).toBe(1);
    expect(await grantedQos(dev, topics.reply('dev-2'))).toBe(128);
    expect(await grantedQos(dev, '#')).toBe(128);
    expect(await grantedQos(dev, 'fogline/v1/device/+/reply')).toBe(128);
    expect(await grantedQos(dev, topics.infer('edge-a'))).toBe(128);
    expect(await grantedQos(dev, '$SYS/#')).toBe(128);
    expect(dev.connected).toBe(true);
    expect(t.broker.stats().subscribeRefused).toEqual({ wildcard: 3, topic: 2, identity: 0 });
  });

  it("another device's replies never reach it", async () => {
    const dev1 = await t.connect('dev-1', 't1');
    const dev2 = await t.connect('dev-2', 't2');
    const agent = await t.connect('agent-a', 'ta');
    await grantedQos(dev1, topics.reply('dev-2'));
    await grantedQos(dev2, topics.reply('dev-2'));
    const seen1 = collect(dev1);
    const seen2 = collect(dev2);
    await agent.publishAsync(topics.reply('dev-2'), 'for dev-2', { qos: 1 });
    await until(() => seen2.length === 1, 2_000, 'dev-2 reply');
    await pause(50);
    expect(seen1).toEqual([]);
  });

  it('an edge subscribes to its own desired state only; the cloud service may use + for the edge id', async () => {
    const edge = await t.connect('edge-a', 'tea');
    expect(await grantedQos(edge, topics.desired('edge-a'))).toBe(1);
    expect(await grantedQos(edge, topics.desired('edge-b'))).toBe(128);
    expect(await grantedQos(edge, 'fogline/v1/edge/edge-a/#')).toBe(128);
    const cloud = await t.connect('cloud', 'tc');
    expect(await grantedQos(cloud, 'fogline/v1/edge/+/status')).toBe(1);
    expect(await grantedQos(cloud, '#')).toBe(128);
  });
});

describe('publish ACL (refused = acknowledged, discarded, counted)', () => {
  it("a device's request reaches its own edge agent only", async () => {
    const agentA = await t.connect('agent-a', 'ta');
    const agentB = await t.connect('agent-b', 'tb');
    expect(await grantedQos(agentA, topics.infer('edge-a'))).toBe(1);
    expect(await grantedQos(agentB, topics.infer('edge-b'))).toBe(1);
    const atA = collect(agentA);
    const atB = collect(agentB);
    const dev = await t.connect('dev-1', 't1');
    await dev.publishAsync(topics.infer('edge-a'), inferRequest('r1', 'dev-1'), { qos: 1 });
    await dev.publishAsync(topics.infer('edge-b'), inferRequest('r2', 'dev-1'), { qos: 1 });
    await until(() => atA.length === 1, 2_000, 'request at edge-a');
    await pause(50);
    expect(atB).toEqual([]);
    expect(dev.connected).toBe(true);
    expect(t.broker.stats().publishRefused.topic).toBe(1);
  });

  it('a refused device request gets a PERMISSION_DENIED error reply with its id', async () => {
    const dev = await t.connect('dev-1', 't1');
    await grantedQos(dev, topics.reply('dev-1'));
    const replies = collect(dev);
    await dev.publishAsync(topics.infer('edge-b'), inferRequest('r-denied', 'dev-1'), { qos: 1 });
    await until(() => replies.length === 1, 2_000, 'error reply');
    const decoded = decodeInferMessage(replies[0]!.payload);
    expect(decoded.kind).toBe('error');
    expect(decoded.header.id).toBe('r-denied');
    expect(decoded.header.parameters?.error_code).toBe('PERMISSION_DENIED');
  });

  it("a device cannot publish on another device's reply topic or on edge topics", async () => {
    const dev2 = await t.connect('dev-2', 't2');
    await grantedQos(dev2, topics.reply('dev-2'));
    const atDev2 = collect(dev2);
    const cloud = await t.connect('cloud', 'tc');
    await grantedQos(cloud, 'fogline/v1/edge/+/status');
    const atCloud = collect(cloud);
    const dev1 = await t.connect('dev-1', 't1');
    await dev1.publishAsync(topics.reply('dev-2'), 'spoofed reply', { qos: 1 });
    await dev1.publishAsync(topics.status('edge-a'), 'spoofed status', { qos: 0 });
    await pause(100);
    expect(atDev2).toEqual([]);
    expect(atCloud).toEqual([]);
    expect(t.broker.stats().publishRefused.topic).toBe(2);
  });

  it('an edge publishes its retained status to the cloud, never another edge status', async () => {
    const edge = await t.connect('edge-a', 'tea');
    await edge.publishAsync(topics.status('edge-a'), 'online', { qos: 1, retain: true });
    await edge.publishAsync(topics.status('edge-b'), 'online', { qos: 1, retain: true });
    // The cloud subscribes afterwards: it gets edge-a's retained status, and nothing for edge-b.
    const cloud = await t.connect('cloud', 'tc');
    const atCloud = collect(cloud);
    await grantedQos(cloud, 'fogline/v1/edge/+/status');
    await until(() => atCloud.length === 1, 2_000, 'retained edge-a status');
    await pause(50);
    expect(atCloud.map((m) => [m.topic, m.payload.toString()])).toEqual([
      [topics.status('edge-a'), 'online'],
    ]);
  });

  it('a retained request from a device is not stored', async () => {
    const dev = await t.connect('dev-1', 't1');
    await dev.publishAsync(topics.infer('edge-a'), inferRequest('r-ret', 'dev-1'), { qos: 1, retain: true });
    const agent = await t.connect('agent-a', 'ta');
    const atAgent = collect(agent);
    await grantedQos(agent, topics.infer('edge-a'));
    await pause(100);
    expect(atAgent).toEqual([]);
  });
});

/**
 * The F7 channels on a real broker: the retained policy topic edge → devices, and the device → edge
 * report topic with its own token bucket (reports never take a request's tokens).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { decodeInferMessage } from '../core/codec/index.ts';
import { topics } from '../core/fabric/topics.ts';
import {
  type Credential,
  collect,
  grantedQos,
  inferRequest,
  startTestBroker,
  TEST_CREDENTIALS,
  type TestBroker,
  until,
} from '../testing/broker-test-kit.ts';

let t: TestBroker | undefined;
const credentials: Record<string, Credential> = {
  ...TEST_CREDENTIALS,
  'dev-b': { token: 'tdb', identity: { kind: 'device', id: 'dev-b', edgeId: 'edge-b' } },
};
const connect = (id: string) => t!.connect(id, credentials[id]!.token);

afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('policy topic', () => {
  it("delivers the edge's retained policy to its devices only; a device cannot publish one", async () => {
    t = await startTestBroker(credentials);
    await t.broker.publish(topics.policy('edge-a'), '{"v":1}', { retain: true });
    const dev = await connect('dev-1');
    const got = collect(dev);
    expect(await grantedQos(dev, topics.policy('edge-a'))).toBe(1);
    await until(() => got.length === 1, 2_000, 'the retained policy');
    expect(got[0]!.payload.toString()).toBe('{"v":1}');

    const other = await connect('dev-b');
    expect(await grantedQos(other, topics.policy('edge-a'))).toBe(0x80);

    // A device publishing on the policy topic (retained, even) reaches nobody and replaces nothing.
    const dev2 = await connect('dev-2');
    await dev2.publishAsync(topics.policy('edge-a'), '{"v":666}', { qos: 1, retain: true });
    const late = await connect('dev-3');
    const lateGot = collect(late);
    await grantedQos(late, topics.policy('edge-a'));
    await until(() => lateGot.length === 1, 2_000, 'the retained policy');
    await new Promise((r) => setTimeout(r, 50));
    expect(got.map((m) => m.payload.toString())).toEqual(['{"v":1}']);
    expect(lateGot.map((m) => m.payload.toString())).toEqual(['{"v":1}']);
    expect(t.broker.stats().publishRefused.topic).toBe(1);
  });
});

describe('report topic', () => {
  it('drops reports over their own bucket, counted, and leaves the request bucket whole', async () => {
    const clock = new ManualClock(); // no refill during the test
    t = await startTestBroker(credentials, {
      clock,
      publishRate: { ratePerSec: 1, burst: 3 },
      reportRate: { ratePerSec: 1, burst: 2 },
    });
    const agent = await connect('agent-a');
    await grantedQos(agent, 'fogline/v1/device/+/report');
    await grantedQos(agent, topics.infer('edge-a'));
    const atAgent = collect(agent);
    const dev = await connect('dev-1');
    await grantedQos(dev, topics.reply('dev-1'));
    const replies = collect(dev);
    for (let i = 0; i < 10; i++) {
      await dev.publishAsync(topics.report('dev-1'), `{"kind":"audit","body":{"i":${i}}}`, { qos: 1 });
    }
    for (let i = 0; i < 3; i++) {
      await dev.publishAsync(topics.infer('edge-a'), inferRequest(`r${i}`, 'dev-1'), { qos: 1 });
    }
    await until(() => atAgent.length === 5, 2_000, 'two reports and three requests');
    const reports = atAgent.filter((m) => m.topic === topics.report('dev-1'));
    expect(reports.map((m) => m.payload.toString())).toEqual([
      '{"kind":"audit","body":{"i":0}}',
      '{"kind":"audit","body":{"i":1}}',
    ]);
    const requests = atAgent.filter((m) => m.topic === topics.infer('edge-a'));
    expect(requests.map((m) => decodeInferMessage(m.payload).header.id)).toEqual(['r0', 'r1', 'r2']);
    // Dropped reports get no error reply: nothing waits for them.
    expect(replies).toEqual([]);
    expect(t.broker.stats()).toMatchObject({ reportsAccepted: 2, reportsDropped: 8, rateLimited: 0 });
    expect(dev.connected).toBe(true);
  });

  it("refuses a device's report on another device's topic", async () => {
    t = await startTestBroker(credentials);
    const agent = await connect('agent-a');
    await grantedQos(agent, 'fogline/v1/device/+/report');
    const atAgent = collect(agent);
    const dev = await connect('dev-1');
    await dev.publishAsync(topics.report('dev-2'), '{"kind":"audit","body":{}}', { qos: 1 });
    await until(() => t!.broker.stats().publishRefused.topic === 1, 2_000, 'the refusal');
    expect(atAgent).toEqual([]);
  });
});

/**
 * The three tiers together, as a user deploys them (docs/operations.md): a CloudServer with auth on,
 * an edge and its devices enrolled through the admin API, a real edge agent connected to the cloud's
 * broker and HTTP API with its own token, and real devices (device SDK) on the edge's local broker.
 * Real sockets on 127.0.0.1, real Aedes brokers, real onnxruntime sessions, PGlite in a temp dir.
 *
 * The flow is one story, run in order: sync → every tier answers → the ACL holds on the edge's
 * broker → a device is revoked → the cloud dies → the edge dies and comes back on the same port
 * (with the cloud still down).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device, type InferResult } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent, type EdgeAgentOptions } from '@fogline/edge-agent';
import { decodeInferMessage, encodeInferMessage, scoreLogitRows, topics } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { collect, connectClient, connectOutcome, grantedQos } from '@fogline/shared/testing';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const EDGE = 'edge-1';
/** The edge's margin threshold, set in beforeAll to split dev-2's inputs between edge and cloud. */
let edgeThreshold = 0.9;
// The test split is ordered by label: take every 18th digit, so all ten classes are in the 80.
const split = loadDigits('test');
const STRIDE = 18;
const image = (i: number) => split.images.subarray(i * STRIDE * 784, (i * STRIDE + 1) * 784);
const labels = Array.from({ length: 80 }, (_, i) => split.labels[i * STRIDE]);

let cloud: FabricCloud;
let agent: EdgeAgent;
let edgeOptions: EdgeAgentOptions;
let edgeBroker: string;
const edgeDataDir = mkdtempSync(join(tmpdir(), 'fogline-e2e-edge-'));
const tokens = new Map<string, string>();
const devices: Device[] = [];

/**
 * The mid model's margin on each of dev-2's inputs, computed here with onnxruntime, and a threshold
 * halfway between the two middle ones: the edge answers half of them and escalates the other half,
 * whatever the committed model's calibration.
 */
async function splittingThreshold(from: number, to: number): Promise<number> {
  const session = await ort.InferenceSession.create(
    join(DEFAULT_MODELS_DIR, 'digits-mid', '1', 'model.onnx'),
  );
  const margins: number[] = [];
  for (let i = from; i < to; i++) {
    const out = await session.run({ image: new ort.Tensor('float32', image(i).slice(), [1, 1, 28, 28]) });
    margins.push(scoreLogitRows(out.logits!.data as Float32Array, 10, 'margin').scores[0]!);
  }
  await session.release();
  margins.sort((a, b) => a - b);
  const k = margins.length / 2;
  return (margins[k - 1]! + margins[k]!) / 2;
}

/** A framed request for one test digit whose answer goes to `replyDevice`'s reply topic. */
function requestFor(id: string, replyDevice: string): Buffer {
  const frame = encodeInferMessage(
    { id, parameters: { reply_to: topics.reply(replyDevice), deadline_ms: 2000 } },
    [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: image(0).slice() }],
  );
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

type Routing = 'local' | 'escalate' | 'default';

/** A device on the edge's broker; `local` never escalates, `escalate` always does (margin never reaches 1). */
async function device(id: string, routing: Routing = 'default'): Promise<Device> {
  const d = await connectDevice({
    broker: edgeBroker,
    deviceId: id,
    token: tokens.get(id)!,
    edgeId: EDGE,
    runtime: 'node',
    reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
    ...(routing === 'local' ? { policy: { score: 'maxprob' as const, threshold: 0 } } : {}),
    ...(routing === 'escalate' ? { policy: { score: 'margin' as const, threshold: 1 } } : {}),
  });
  devices.push(d);
  return d;
}

beforeAll(async () => {
  edgeThreshold = await splittingThreshold(40, 80);
  cloud = await startFabricCloud({ models: ['digits-large', 'digits-mid'] });
  const edge = await cloud.admin.createEdge(EDGE);
  for (const id of ['dev-1', 'dev-2', 'dev-3'])
    tokens.set(id, (await cloud.admin.createDevice(id, EDGE)).token);
  edgeOptions = {
    edgeId: EDGE,
    token: edge.token,
    cloudUrl: cloud.url,
    cloudBrokerUrl: cloud.mqttUrl,
    // The tests send bursts of back-to-back requests from one device; the default per-device budget
    // (50/s, burst 100) would answer some with RATE_LIMITED, which is tested in the broker's own suite.
    localBroker: {
      kind: 'embedded',
      host: '127.0.0.1',
      mqttPort: 0,
      publishRate: { ratePerSec: 10_000, burst: 10_000 },
    },
    dataDir: edgeDataDir,
    model: 'digits-mid', // the splitting threshold above is computed on this model
    workers: 1,
    intraOpThreads: 1,
    telemetryIntervalMs: 300,
    routingScore: 'margin',
    routingThreshold: edgeThreshold,
    breaker: { volumeThreshold: 3, resetTimeoutMs: 60_000 },
  };
  agent = createEdgeAgent(edgeOptions);
  const info = await agent.start();
  edgeBroker = `mqtt://127.0.0.1:${info.localBroker.mqttPort}`;
  edgeOptions = {
    ...edgeOptions,
    localBroker: { ...edgeOptions.localBroker, mqttPort: info.localBroker.mqttPort },
  } as EdgeAgentOptions;
}, 60_000);

afterAll(async () => {
  for (const d of devices) await d.close().catch(() => {});
  await agent?.stop().catch(() => {});
  await cloud?.stop();
  rmSync(edgeDataDir, { recursive: true, force: true });
});

describe('device → edge → cloud, enrolled through the admin API', () => {
  it('the edge gets its device list from the cloud, and enrolled devices (only) authenticate', async () => {
    await eventually(() => agent.deviceListVersion !== undefined, 10_000);
    await device('dev-1', 'local');
    await device('dev-2', 'escalate');
    await expect(
      connectDevice({ broker: edgeBroker, deviceId: 'dev-1', token: 'fgd_not-the-token', edgeId: EDGE }),
    ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await eventually(
      async () => (await cloud.admin.getEdge(EDGE)).deviceListVersion === agent.deviceListVersion,
    );
    const view = await cloud.admin.getEdge(EDGE);
    expect(view).toMatchObject({ online: true, reported: { devices: 3, models: { 'digits-mid': 1 } } });
    expect(view.reported).not.toHaveProperty('pendingModels'); // it serves what the cloud desires
  });

  it('answers on every path — device, edge and cloud — correctly and without degradation', async () => {
    const [dev1, dev2] = devices as [Device, Device];
    const results: InferResult[] = [];
    for (let i = 0; i < 40; i++) results.push(await dev1.infer(image(i), { deadlineMs: 3000 }));
    for (let i = 40; i < 80; i++) results.push(await dev2.infer(image(i), { deadlineMs: 3000 }));
    const tiers = new Set(results.map((r) => r.tier));
    expect([...tiers].sort()).toEqual(['cloud', 'device', 'edge']);
    expect(results.filter((r) => r.degraded)).toEqual([]);
    const correct = results.filter((r, i) => r.label === labels[i]).length;
    expect(correct / results.length).toBeGreaterThanOrEqual(0.9);
    // The cloud learns what happened from the edge's telemetry.
    await eventually(async () => ((await cloud.admin.getEdge(EDGE)).telemetry?.counts?.cloud ?? 0) > 0, 5000);
  });

  it("holds devices to the ACL on the edge's own broker (real MQTT.js clients, real tokens)", async () => {
    const listed = agent.deviceListVersion!;
    tokens.set('dev-4', (await cloud.admin.createDevice('dev-4', EDGE)).token);
    await eventually(() => agent.deviceListVersion! > listed, 5000);
    const dev3 = await connectClient(edgeBroker, 'dev-3', tokens.get('dev-3')!);
    const dev4 = await connectClient(edgeBroker, 'dev-4', tokens.get('dev-4')!);
    try {
      // Subscriptions: its own replies only; no wildcards, no other device's replies, no edge topics.
      expect(await grantedQos(dev3, topics.reply('dev-3'))).toBe(1);
      expect(await grantedQos(dev3, topics.reply('dev-4'))).toBe(128);
      expect(await grantedQos(dev3, 'fogline/v1/device/+/reply')).toBe(128);
      expect(await grantedQos(dev3, '#')).toBe(128);
      expect(await grantedQos(dev3, topics.infer(EDGE))).toBe(128);
      expect(await grantedQos(dev4, topics.reply('dev-4'))).toBe(1);
      const seen3 = collect(dev3);
      const seen4 = collect(dev4);
      // A forged answer on another device's reply topic is dropped by the broker...
      await dev3.publishAsync(topics.reply('dev-4'), 'forged', { qos: 1 });
      // ...a request whose answer would go to another device is refused by the edge, and one on
      // another edge's infer topic by the broker: each with an error reply on the sender's own topic.
      await dev3.publishAsync(topics.infer(EDGE), requestFor('steer', 'dev-4'), { qos: 1 });
      await dev3.publishAsync(topics.infer('edge-2'), requestFor('elsewhere', 'dev-3'), { qos: 1 });
      await eventually(() => seen3.length === 2, 5000);
      const refusals = seen3.map((m) => ({ topic: m.topic, ...decodeInferMessage(m.payload) }));
      for (const id of ['steer', 'elsewhere']) {
        expect(refusals.find((r) => r.header.id === id)).toMatchObject({
          topic: topics.reply('dev-3'),
          kind: 'error',
          header: { parameters: { error_code: 'PERMISSION_DENIED' } },
        });
      }
      // dev-4's own request is answered: the only message it ever got is that answer.
      await dev4.publishAsync(topics.infer(EDGE), requestFor('own', 'dev-4'), { qos: 1 });
      await eventually(() => seen4.length === 1, 5000);
      await new Promise((r) => setTimeout(r, 200));
      expect(seen4.map((m) => decodeInferMessage(m.payload))).toMatchObject([
        { kind: 'response', header: { id: 'own' } },
      ]);
      expect(seen3).toHaveLength(2);
      // A connected device's id cannot be taken with another device's token; the SDK device stays.
      expect(await connectOutcome(edgeBroker, 'dev-1', tokens.get('dev-3')!)).toBe(4);
      expect(devices[0]!.state).toBe('online');
    } finally {
      await Promise.all([dev3.endAsync(true), dev4.endAsync(true)]);
    }
  });

  it('revoking a device disconnects it within seconds and refuses it from then on', async () => {
    const dev3 = await device('dev-3');
    expect(dev3.state).toBe('online');
    await cloud.admin.revokeDevice('dev-3');
    await eventually(() => dev3.state === 'refused', 5000);
    await expect(
      connectDevice({ broker: edgeBroker, deviceId: 'dev-3', token: tokens.get('dev-3')!, edgeId: EDGE }),
    ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    // The others are untouched.
    expect(devices[0]!.state).toBe('online');
  });

  it('with the cloud gone, the breaker opens and every request is answered before its deadline', async () => {
    await cloud.server.stop();
    const dev2 = devices[1]!;
    const deadlineMs = 500;
    const results: InferResult[] = [];
    // The breaker's 10 s window still holds the earlier successful cloud calls: a few passes over
    // the inputs are needed before failures pass half of it.
    for (let pass = 0; pass < 4 && agent.breakerState !== 'open'; pass++) {
      for (let i = 40; i < 80; i++) results.push(await dev2.infer(image(i), { deadlineMs }));
    }
    for (let i = 40; i < 50; i++) results.push(await dev2.infer(image(i), { deadlineMs })); // while open
    for (const r of results) {
      expect(r.tier, `device fallback: ${JSON.stringify(r.fallback)}`).toBe('edge');
      expect(r.latencyMs.total).toBeLessThan(deadlineMs);
      // Flagged degraded exactly when the edge wanted the cloud (its score below its threshold).
      expect(r.degraded).toBe(r.score < edgeThreshold);
    }
    expect(results.filter((r) => r.degraded).length).toBeGreaterThanOrEqual(3);
    expect(agent.breakerState).toBe('open');
  });

  it('with the edge gone, devices answer locally (degraded) and recover when it returns on the same port', async () => {
    const dev2 = devices[1]!;
    await agent.stop();
    await eventually(() => dev2.state === 'offline', 5000);
    const local = await dev2.infer(image(0), { deadlineMs: 500 });
    expect(local).toMatchObject({ tier: 'device', degraded: true });

    // The cloud is still down: the edge authenticates its devices from its on-disk device list.
    agent = createEdgeAgent(edgeOptions);
    await agent.start();
    await eventually(() => dev2.state === 'online', 10_000);
    const back = await dev2.infer(image(1), { deadlineMs: 2000 });
    expect(back.tier).toBe('edge');
  });
});

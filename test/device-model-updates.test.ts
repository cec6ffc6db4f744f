/**
 * Devices get their model from their edge (issue 13 item 5, docs/device-sdk.md "Model updates"): a
 * real cloud with its model store, a real edge agent that fetches a device model from it with its
 * edge token and serves it on its device file listener, and real SDK devices on the edge's broker
 * (onnxruntime-node). The model is a copy of the committed digits-tiny pushed as version 2.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import {
  connectDevice,
  type Device,
  type InferResult,
  type ModelErrorEvent,
  type ModelEvent,
} from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent, type EdgeAgentOptions } from '@fogline/edge-agent';
import { readDeviceModelManifest, topics } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const EDGE = 'edge-dm';
const TINY = join(DEFAULT_MODELS_DIR, 'digits-tiny', '1', 'model.onnx');
const tinyBytes = readFileSync(TINY);
const v2 = {
  model: 'digits-tiny',
  version: 2,
  sha256: createHash('sha256').update(tinyBytes).digest('hex'),
  bytes: tinyBytes.length,
};
const split = loadDigits('test');
const image = (i: number) => split.images.slice(i * 784, (i + 1) * 784);

let cloud: FabricCloud;
let agent: EdgeAgent;
let edgeOptions: EdgeAgentOptions;
let broker: string;
let files: string;
const edgeDataDir = mkdtempSync(join(tmpdir(), 'fogline-device-models-'));
const tokens = new Map<string, string>();
const devices: Device[] = [];

/** A device that answers every request itself (its answer names its model). */
async function device(
  id: string,
): Promise<{ device: Device; models: ModelEvent[]; errors: ModelErrorEvent[] }> {
  const d = await connectDevice({
    broker,
    deviceId: id,
    token: tokens.get(id)!,
    edgeId: EDGE,
    runtime: 'node',
    policy: { score: 'maxprob', threshold: 0 },
    reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
    modelDir: join(edgeDataDir, 'devices', id),
  });
  devices.push(d);
  const models: ModelEvent[] = [];
  const errors: ModelErrorEvent[] = [];
  d.on('model', (e) => models.push(e));
  d.on('modelError', (e) => errors.push(e));
  return { device: d, models, errors };
}

beforeAll(async () => {
  cloud = await startFabricCloud();
  const edge = await cloud.admin.createEdge(EDGE);
  for (const id of ['dev-1', 'dev-2', 'dev-3', 'dev-4'])
    tokens.set(id, (await cloud.admin.createDevice(id, EDGE)).token);
  const config = JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, 'digits-tiny', 'config.json'), 'utf8'));
  await cloud.admin.pushModel({ name: 'digits-tiny', version: 2, file: TINY, config });
  edgeOptions = {
    edgeId: EDGE,
    token: edge.token,
    cloudUrl: cloud.url,
    cloudBrokerUrl: cloud.mqttUrl,
    localBroker: { kind: 'embedded', host: '127.0.0.1', mqttPort: 0 },
    deviceFiles: { port: 0, host: '127.0.0.1' },
    dataDir: edgeDataDir,
    model: 'digits-mid',
    workers: 1,
    intraOpThreads: 1,
  };
  agent = createEdgeAgent(edgeOptions);
  const info = await agent.start();
  broker = `mqtt://127.0.0.1:${info.localBroker.mqttPort}`;
  files = `http://127.0.0.1:${info.deviceFiles!.port}`;
  await eventually(() => agent.deviceListVersion !== undefined, 20_000);
}, 120_000);

afterAll(async () => {
  for (const d of devices) await d.close().catch(() => {});
  await agent?.stop().catch(() => {});
  await cloud?.stop();
  rmSync(edgeDataDir, { recursive: true, force: true });
});

describe('devices get their model from the edge', { timeout: 120_000 }, () => {
  it('a connected device swaps to the version the edge serves between requests, and answers with it', async () => {
    const { device: d, models, errors } = await device('dev-1');
    expect((await d.infer(image(0))).modelVersions).toBe('digits-tiny:1');

    // Requests keep coming while the edge fetches, announces and the device swaps.
    const answers: InferResult[] = [];
    let stop = false;
    const traffic = (async () => {
      for (let i = 0; !stop; i++) answers.push(await d.infer(image(i % 50)));
    })();
    const status = await agent.serveDeviceModel(v2);
    expect(status.current).toEqual(v2);
    await eventually(() => models.length > 0, 30_000);
    await eventually(() => answers.at(-1)?.modelVersions === 'digits-tiny:2', 30_000);
    stop = true;
    await traffic;

    expect(models).toEqual([{ model: 'digits-tiny:2', previous: 'digits-tiny:1', sha256: v2.sha256 }]);
    expect(errors).toEqual([]);
    expect(d.model).toBe('digits-tiny:2');
    // Every request was answered by the device, none degraded, each by one of the two versions.
    expect(answers.every((a) => a.tier === 'device' && !a.degraded)).toBe(true);
    expect(new Set(answers.map((a) => a.modelVersions))).toEqual(new Set(['digits-tiny:1', 'digits-tiny:2']));
    const answer = await d.infer(image(3));
    expect(answer).toMatchObject({ modelVersions: 'digits-tiny:2', tier: 'device', degraded: false });
  });

  it('a device that connects later gets the current model on connect', async () => {
    const { device: d, models, errors } = await device('dev-2');
    await eventually(() => d.model === 'digits-tiny:2', 30_000);
    expect(models).toMatchObject([{ model: 'digits-tiny:2', previous: 'digits-tiny:1' }]);
    expect(errors).toEqual([]);
    expect((await d.infer(image(1))).modelVersions).toBe('digits-tiny:2');
  });

  it("serves the file to the edge's devices only", async () => {
    const url = `${files}/device-models/digits-tiny/2/model.onnx`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: 'Bearer dev-1:fgd_wrong' } })).status).toBe(401);
    const ok = await fetch(url, { headers: { authorization: `Bearer dev-1:${tokens.get('dev-1')}` } });
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(tinyBytes)).toBe(true);
    const other = await fetch(`${files}/device-models/digits-tiny/1/model.onnx`, {
      headers: { authorization: `Bearer dev-1:${tokens.get('dev-1')}` },
    });
    expect(other.status).toBe(404);
  });

  it('a deployment whose sha256 is wrong is refused by the edge, which keeps announcing the previous model', async () => {
    const wrong = { ...v2, version: 2, sha256: 'f'.repeat(64) };
    await expect(agent.serveDeviceModel(wrong)).rejects.toThrow(
      /sha256 [0-9a-f]{64} is not the deployment's f{64}/,
    );
    expect(agent.deviceModel()).toMatchObject({ current: v2, failure: { file: wrong } });
    // The retained manifest on the edge's broker still names version 2 with its real checksum.
    const client = await mqtt.connectAsync(broker, {
      protocolVersion: 4,
      clientId: 'dev-3',
      username: 'dev-3',
      password: tokens.get('dev-3')!,
      reconnectPeriod: 0,
    });
    const payload = await new Promise<Buffer>((resolve) => {
      client.on('message', (_t, p) => resolve(p));
      void client.subscribeAsync(topics.deviceModel(EDGE), { qos: 1 });
    });
    await client.endAsync();
    const reading = readDeviceModelManifest(payload, EDGE);
    expect(reading).toMatchObject({ ok: true, manifest: { version: 2, sha256: v2.sha256 } });
  });

  it('a restarted edge checks its stored device model again and announces it', async () => {
    await agent.stop();
    agent = createEdgeAgent(edgeOptions);
    const info = await agent.start();
    broker = `mqtt://127.0.0.1:${info.localBroker.mqttPort}`;
    files = `http://127.0.0.1:${info.deviceFiles!.port}`;
    expect(agent.deviceModel()).toEqual({ current: v2 });
    const client = await mqtt.connectAsync(broker, {
      protocolVersion: 4,
      clientId: 'dev-3',
      username: 'dev-3',
      password: tokens.get('dev-3')!,
      reconnectPeriod: 0,
    });
    const payload = await new Promise<Buffer>((resolve) => {
      client.on('message', (_t, p) => resolve(p));
      void client.subscribeAsync(topics.deviceModel(EDGE), { qos: 1 });
    });
    await client.endAsync();
    expect(readDeviceModelManifest(payload, EDGE)).toMatchObject({
      ok: true,
      manifest: { version: 2, sha256: v2.sha256, url: `${files}/device-models/digits-tiny/2/model.onnx` },
    });
  });

  it('a truncated file leaves the device on its model, with a modelError event', async () => {
    // The copy on the edge's disk is damaged after the edge checked it.
    truncateSync(join(edgeDataDir, 'device-models', 'digits-tiny', '2', 'model.onnx'), 1000);
    const { device: d, models, errors } = await device('dev-3');
    await eventually(() => errors.length > 0, 30_000);
    expect(errors[0]).toMatchObject({ model: 'digits-tiny:2', current: 'digits-tiny:1' });
    expect(errors[0]!.error.message).toMatch(/got 1000 bytes, expected \d+/);
    expect(models).toEqual([]);
    const answer = await d.infer(image(2));
    expect(answer).toMatchObject({ modelVersions: 'digits-tiny:1', tier: 'device', degraded: false });
  });

  it('a file longer than announced is refused the same way', async () => {
    appendFileSync(
      join(edgeDataDir, 'device-models', 'digits-tiny', '2', 'model.onnx'),
      Buffer.alloc(tinyBytes.length),
    );
    const { device: d, models, errors } = await device('dev-4');
    await eventually(() => errors.length > 0, 30_000);
    expect(errors[0]!.error.message).toMatch(/more than the \d+ announced/);
    expect(models).toEqual([]);
    expect((await d.infer(image(4))).modelVersions).toBe('digits-tiny:1');
  });
});

/**
 * A cascade whose three models name and type their tensors differently (wire.md): a device model with
 * a quantized UINT8 input `pixels`, an edge model with an FP16 input `x` and an INT8-quantized
 * probabilities output, a cloud model with an FP32 input `input` and an FP16 logits output. Requests
 * carry the device's input as its model consumes it; the edge, the cloud behind it, and the cloud
 * playing the edge of a device without one each convert it for their own model, and every answer
 * equals onnxruntime run directly on the same input. A cloud model whose labels are in another order
 * is not called: the edge answers degraded, with fallback_code, and warns once.
 * Real sockets on 127.0.0.1, the real Aedes brokers, real onnxruntime sessions.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { CloudServer } from '@fogline/cloud';
import { type FabricCloud, mustConnect, nextMessage, startFabricCloud } from '@fogline/cloud/testing';
import { type AgentFixture, startTestAgent } from '@fogline/edge-agent/testing';
import {
  CLOUD_EDGE_ID,
  encodeFabricRequest,
  readFabricReply,
  type TensorData,
  topics,
  toRealValues,
  toTensorData,
} from '@fogline/shared';
import { checkCascade, findCascade, loadModelRepository } from '@fogline/shared/model-repository';
import { runTypedClassifier, type TypedClassifier, typedRepository } from '@fogline/toolchain/testing';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const labels = ['circle', 'square', 'star', 'triangle'];
const sample = [3, 4, 4];
const INPUT_QUANTIZATION = { scale: 1 / 255, zero_point: 0 };
const DEVICE: TypedClassifier = {
  name: 'shapes-device',
  tier: 'device',
  input: { name: 'pixels', datatype: 'UINT8', quantization: INPUT_QUANTIZATION },
  output: { name: 'logits', datatype: 'FP32' },
  outputKind: 'logits',
  sample,
  classes: labels.length,
  labels,
  seed: 1,
};
const EDGE: TypedClassifier = {
  ...DEVICE,
  name: 'shapes-edge',
  tier: 'edge',
  input: { name: 'x', datatype: 'FP16' },
  output: { name: 'probs', datatype: 'INT8', quantization: { scale: 1 / 256, zero_point: -128 } },
  outputKind: 'probabilities',
  seed: 2,
};
const CLOUD: TypedClassifier = {
  ...DEVICE,
  name: 'shapes-cloud',
  tier: 'cloud',
  input: { name: 'input', datatype: 'FP32' },
  output: { name: 'scores', datatype: 'FP16' },
  seed: 3,
};
const ODD_CLOUD: TypedClassifier = { ...CLOUD, name: 'shapes-cloud-odd', labels: [...labels].reverse() };

const dir = typedRepository([DEVICE, EDGE, CLOUD, ODD_CLOUD]);
const device = { id: 'dev-shapes', token: 'tok-shapes' };
/** The cloud with its broker and auth, for devices with no edge. */
let cloud: FabricCloud;
/** The cloud gateway the edges escalate to (auth off: the edge keeps its seeded device list). */
let gateway: CloudServer;

beforeAll(async () => {
  cloud = await startFabricCloud({ modelsDir: dir, cloudModel: CLOUD.name });
  gateway = new CloudServer({
    httpPort: 0,
    host: '127.0.0.1',
    mqttPort: null,
    dataDir: join(dir, 'gateway-data'),
    modelsDir: dir,
    auth: false,
    serving: { workers: 1, intraOpThreads: 1 },
  });
  await gateway.start();
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
  await gateway?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Input `i` as the device model consumes it: quantized UINT8 pixels. */
function pixels(i: number): Uint8Array {
  return Uint8Array.from({ length: 48 }, (_, k) => (k * 37 + i * 101 + ((k * k) % 13) * 9) % 256);
}
const realOf = (i: number) => toRealValues(pixels(i), DEVICE.input);

function request(id: string, i: number, replyTo = topics.reply(device.id)): Uint8Array {
  return encodeFabricRequest({
    id,
    replyTo,
    deadlineMs: 5000,
    deviceScore: 0.1,
    input: { name: 'pixels', datatype: 'UINT8', shape: [1, ...sample], data: pixels(i) },
    inputQuantization: INPUT_QUANTIZATION,
  });
}

/** `m`'s answer to input `i` straight from onnxruntime, fed as `m`'s input datatype. */
async function direct(m: TypedClassifier, i: number): Promise<Float32Array> {
  const data = toTensorData(realOf(i), m.input);
  return toRealValues((await runTypedClassifier(dir, m, data as never)) as TensorData, m.output);
}

async function withEdge(
  options: Parameters<typeof startTestAgent>[0],
  body: (edge: AgentFixture, dev: MqttClient) => Promise<void>,
): Promise<void> {
  const edge = await startTestAgent({
    edgeId: 'edge-shapes',
    modelsDir: dir,
    model: EDGE.name,
    cloudModel: CLOUD.name,
    cloudUrl: gateway.url,
    devices: [device],
    ...options,
  });
  try {
    const dev = await mustConnect(edge.url, device.id, device.token);
    try {
      await dev.subscribeAsync(topics.reply(device.id), { qos: 1 });
      await body(edge, dev);
    } finally {
      await dev.endAsync();
    }
  } finally {
    await edge.stop();
  }
}

/** Sends input `i` to the edge and reads the reply as a device does. */
async function ask(dev: MqttClient, id: string, i: number) {
  const next = nextMessage(dev, topics.reply(device.id));
  await dev.publishAsync(topics.infer('edge-shapes'), Buffer.from(request(id, i)), { qos: 1 });
  const reply = readFabricReply(await next);
  if (!reply?.ok) throw new Error(`request ${id} failed: ${JSON.stringify(reply)}`);
  expect(reply.id).toBe(id);
  return reply;
}

const expectClose = (got: Float32Array, want: Float32Array, step: number) => {
  expect(got.length).toBe(want.length);
  for (let k = 0; k < want.length; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(step);
};
const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));

describe('a cascade whose tiers name and type their tensors differently', () => {
  it('passes the repository check: names and datatypes may differ, shapes and labels agree', async () => {
    const repo = await loadModelRepository(dir);
    expect(() => checkCascade(findCascade(repo, { cloud: CLOUD.name }))).not.toThrow();
    expect(() => checkCascade(findCascade(repo, { cloud: ODD_CLOUD.name }))).toThrow(
      /cloud model "shapes-cloud-odd".*labels are in another order/,
    );
  });

  it("answers at the edge with its model's dequantized probabilities, as onnxruntime does", async () => {
    await withEdge({ routingScore: 'maxprob', routingThreshold: 0 }, async (_edge, dev) => {
      for (const i of [0, 1, 2]) {
        const reply = await ask(dev, `edge-${i}`, i);
        expect(reply).toMatchObject({ tier: 'edge', degraded: false, outputKind: 'probabilities' });
        const want = await direct(EDGE, i);
        expectClose(reply.logits, want, EDGE.output.quantization!.scale);
        expect(argmax(reply.logits)).toBe(argmax(want));
      }
    });
  });

  it('escalates to the cloud model under its own input name and datatype and reads its FP16 logits', async () => {
    await withEdge({ routingScore: 'entropy', routingThreshold: 1 }, async ({ agent }, dev) => {
      for (const i of [0, 1, 2]) {
        const reply = await ask(dev, `cloud-${i}`, i);
        expect(reply).toMatchObject({
          tier: 'cloud',
          degraded: false,
          outputKind: 'logits',
          modelVersions: 'shapes-edge:1,shapes-cloud:1',
        });
        expectClose(reply.logits, await direct(CLOUD, i), 1e-6);
      }
      expect(agent.telemetry().counts).toMatchObject({ cloud: 3, degraded: 0 });
    });
  });

  it('does not call a cloud model whose labels are in another order: degraded, fallback_code, one warning', async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => warnings.push(m) };
    await withEdge(
      { cloudModel: ODD_CLOUD.name, routingScore: 'entropy', routingThreshold: 1, logger },
      async ({ agent }, dev) => {
        for (const i of [0, 1, 2]) {
          const reply = await ask(dev, `odd-${i}`, i);
          expect(reply).toMatchObject({ tier: 'edge', degraded: true, fallbackCode: 'INVALID_ARG' });
          expect(reply.fallbackMessage).toMatch(
            /cloud model "shapes-cloud-odd".*labels are in another order/,
          );
          expectClose(reply.logits, await direct(EDGE, i), EDGE.output.quantization!.scale);
        }
        expect(agent.telemetry().counts).toMatchObject({ cloud: 0, degraded: 3 });
      },
    );
    const incompatible = warnings.filter((w) => w.includes('shapes-cloud-odd'));
    expect(incompatible).toHaveLength(1);
  });

  it('answers a device with no edge from the cloud model, converting its input the same way', async () => {
    const { token } = await cloud.admin.createDevice('direct-shapes', null);
    const client = await mustConnect(cloud.mqttUrl, 'direct-shapes', token);
    try {
      const own = topics.reply('direct-shapes');
      await client.subscribeAsync(own, { qos: 1 });
      for (const i of [3, 4]) {
        const next = nextMessage(client, own);
        await client.publishAsync(topics.infer(CLOUD_EDGE_ID), Buffer.from(request(`d-${i}`, i, own)), {
          qos: 1,
        });
        const reply = readFabricReply(await next);
        expect(reply).toMatchObject({ ok: true, tier: 'cloud', outputKind: 'logits' });
        if (reply?.ok) expectClose(reply.logits, await direct(CLOUD, i), 1e-6);
      }
    } finally {
      await client.endAsync();
    }
  });
});

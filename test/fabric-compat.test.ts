/**
 * The wire stays readable by today's devices (issue F6: "additive changes; a test sends today's
 * frames to the new edge"): a device that sends an FP32 `image` [1,1,28,28] with only `reply_to` and
 * `deadline_ms`, encoded exactly as devices did before F6, gets a correct digits answer from the new
 * edge, answered by the edge and escalated to the cloud, in a reply it can read as before: a `logits`
 * FP32 [1, 10] tensor and the same parameters, the new ones only added.
 * Real sockets on 127.0.0.1, the embedded Aedes broker, the real cloud gateway, real onnxruntime.
 */
import { startTestAgent, testDigits } from '@fogline/edge-agent/testing';
import { decodeInferMessage, encodeInferMessage, findTensor, topics } from '@fogline/shared';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudFixture, startCloud } from './support/cloud.ts';

const device = { id: 'dev-today', token: 'tok-today' };
const { images, labels } = testDigits(10);
let cloud: CloudFixture;

beforeAll(async () => {
  cloud = await startCloud();
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

/**
 * Today's request frame, copied verbatim from edge-agent/src/testing/device-client.ts as it was before
 * F6 (do not "update" it: it stands for the devices already deployed).
 */
function todaysFrame(deviceId: string, id: string, image: Float32Array, opts: { deadlineMs?: number }) {
  const parameters: Record<string, string | number> = { reply_to: topics.reply(deviceId) };
  if (opts.deadlineMs !== undefined) parameters.deadline_ms = opts.deadlineMs;
  const payload = encodeInferMessage({ id, parameters }, [
    { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: image },
  ]);
  return payload;
}

/** Sends today's frames for every test image and reads the replies as today's devices do. */
async function askAll(routing: { routingScore: 'maxprob' | 'entropy'; routingThreshold: number }) {
  const edge = await startTestAgent({ devices: [device], cloudUrl: cloud.url, ...routing });
  const client = await mqtt.connectAsync(edge.url, {
    protocolVersion: 4,
    clientId: device.id,
    username: device.id,
    password: device.token,
    reconnectPeriod: 0,
  });
  try {
    const replies = new Map<string, Buffer>();
    client.on('message', (_t, payload) => {
      const id = decodeInferMessage(payload).header.id;
      if (typeof id === 'string') replies.set(id, payload);
    });
    await client.subscribeAsync(topics.reply(device.id), { qos: 1 });
    for (let i = 0; i < images.length; i++) {
      const frame = todaysFrame(device.id, `today-${i}`, images[i]!, { deadlineMs: 5000 });
      await client.publishAsync(topics.infer(edge.info.edgeId), Buffer.from(frame), { qos: 1 });
    }
    const deadline = Date.now() + 20_000;
    while (replies.size < images.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return images.map((_, i) => {
      const payload = replies.get(`today-${i}`);
      if (!payload) throw new Error(`no reply to today-${i}`);
      const decoded = decodeInferMessage(payload);
      if (decoded.kind !== 'response') throw new Error(`today-${i}: ${JSON.stringify(decoded.header)}`);
      // How today's devices read a reply: the FP32 tensor named "logits".
      const logits = findTensor(decoded.tensors, 'logits', 'FP32');
      return { header: decoded.header, logits };
    });
  } finally {
    await client.endAsync();
    await edge.stop();
  }
}

const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));

describe("today's device frames on the new edge", () => {
  it('are answered by the edge model with a reply today’s devices read: FP32 logits [1, 10], right digits', async () => {
    const replies = await askAll({ routingScore: 'maxprob', routingThreshold: 0 });
    let correct = 0;
    replies.forEach(({ header, logits }, i) => {
      expect(logits.shape).toEqual([1, 10]);
      expect(header.parameters).toMatchObject({
        tier: 'edge',
        degraded: false,
        model_versions: 'digits-mid-int8:1',
      });
      if (argmax(logits.data) === labels[i]) correct++;
    });
    expect(correct).toBeGreaterThanOrEqual(9);
  });

  it('are escalated to the cloud model and answered with its logits, right digits', async () => {
    const replies = await askAll({ routingScore: 'entropy', routingThreshold: 1 });
    let correct = 0;
    replies.forEach(({ header, logits }, i) => {
      expect(logits.shape).toEqual([1, 10]);
      expect(header.parameters).toMatchObject({
        tier: 'cloud',
        degraded: false,
        model_versions: 'digits-mid-int8:1,digits-large:1',
      });
      if (argmax(logits.data) === labels[i]) correct++;
    });
    expect(correct).toBeGreaterThanOrEqual(9);
  });
});

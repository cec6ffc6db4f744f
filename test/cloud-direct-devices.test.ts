/**
 * Devices with no edge, connected straight to the cloud broker (docs/design.md "Where the brokers are":
 * "the cloud then plays their edge"): enrolled through the admin API, answered by the cloud model
 * through the device SDK, held to the shared ACL, refused when they belong to an edge or present a
 * wrong token, and disconnected at once when revoked. Real sockets on 127.0.0.1, the real Aedes
 * broker, real onnxruntime sessions, PGlite in a temp dir.
 */
import { join } from 'node:path';
import {
  closed,
  connectMqtt,
  eventually,
  type FabricCloud,
  mustConnect,
  nextMessage,
  startFabricCloud,
} from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { CLOUD_EDGE_ID, decodeInferMessage, encodeInferMessage, topics } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { grantedQos } from '@fogline/shared/testing';
import type { MqttClient } from 'mqtt';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const split = loadDigits('test');
const image = (i: number) => split.images.subarray(i * 784, (i + 1) * 784);
/** A policy under which the device always asks (the margin never reaches 1). */
const ESCALATE = { score: 'margin' as const, threshold: 1 };

let cloud: FabricCloud;
const devices: Device[] = [];
const clients: MqttClient[] = [];
const track = (c: MqttClient) => {
  clients.push(c);
  return c;
};

beforeAll(async () => {
  cloud = await startFabricCloud({ models: ['digits-large'] });
}, 60_000);
afterAll(async () => {
  for (const d of devices) await d.close().catch(() => {});
  for (const c of clients) c.end(true);
  await cloud?.stop();
});

/** digits-large's own prediction for `pixels`, straight from onnxruntime. */
async function largePrediction(pixels: Float32Array): Promise<number> {
  const session = await ort.InferenceSession.create(
    join(DEFAULT_MODELS_DIR, 'digits-large', '1', 'model.onnx'),
  );
  const out = await session.run({ image: new ort.Tensor('float32', pixels.slice(), [1, 1, 28, 28]) });
  await session.release();
  const logits = Array.from(out.logits!.data as Float32Array);
  return logits.indexOf(Math.max(...logits));
}

/** A framed inference request as a device sends it. */
function request(id: string, replyTo: string, deadlineMs = 3000): Uint8Array {
  return encodeInferMessage({ id, parameters: { reply_to: replyTo, deadline_ms: deadlineMs } }, [
    { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: image(0) },
  ]);
}

function errorCodeOf(payload: Buffer): unknown {
  const decoded = decodeInferMessage(payload);
  return decoded.kind === 'error' ? decoded.header.parameters?.error_code : `a ${decoded.kind}`;
}

describe('a device with no edge, on the cloud broker', () => {
  it('is enrolled with no edge and answered by the cloud model through the device SDK', async () => {
    const created = await cloud.admin.createDevice('direct-1', null);
    expect(created).toMatchObject({ id: 'direct-1', edge: null, revokedAt: null });
    expect((await cloud.admin.listDevices()).find((d) => d.id === 'direct-1')?.edge).toBeNull();
    expect((await cloud.admin.listDevices(CLOUD_EDGE_ID)).map((d) => d.id)).toEqual(['direct-1']);

    const device = await connectDevice({
      broker: cloud.mqttUrl,
      deviceId: 'direct-1',
      token: created.token,
      edgeId: CLOUD_EDGE_ID,
      runtime: 'node',
      policy: ESCALATE,
    });
    devices.push(device);
    expect(device.state).toBe('online');
    for (const i of [0, 1, 2]) {
      const result = await device.infer(image(i), { deadlineMs: 5000 });
      expect(result).toMatchObject({ tier: 'cloud', degraded: false });
      expect(result.label).toBe(await largePrediction(image(i)));
      expect(result.latencyMs.cloud).toBeGreaterThanOrEqual(0);
      expect(result.latencyMs.edge).toBeUndefined();
    }
    expect(cloud.server.fabric.directDevices.stats.answered).toBeGreaterThanOrEqual(3);
  });

  it('publishes only to edge/cloud/infer and subscribes only to its own reply topic', async () => {
    const { token } = await cloud.admin.createDevice('direct-acl', null);
    await cloud.admin.createEdge('acl-edge');
    const client = track(await mustConnect(cloud.mqttUrl, 'direct-acl', token));
    const own = topics.reply('direct-acl');
    expect(await grantedQos(client, own)).toBe(1);
    expect(await grantedQos(client, topics.reply('direct-1'))).toBe(0x80);
    expect(await grantedQos(client, topics.infer(CLOUD_EDGE_ID))).toBe(0x80);
    expect(await grantedQos(client, topics.desired('acl-edge'))).toBe(0x80);

    // Another edge's infer topic: refused (nothing is delivered there) and answered PERMISSION_DENIED.
    const leaked: Buffer[] = [];
    const aedes = cloud.server.fabric.broker.aedes;
    const spy = (packet: { payload: Buffer | string }, cb: () => void) => {
      leaked.push(packet.payload as Buffer);
      cb();
    };
    await new Promise<void>((r) => aedes.subscribe(topics.infer('acl-edge'), spy, r));
    const refused = nextMessage(client, own);
    await client.publishAsync(topics.infer('acl-edge'), Buffer.from(request('r1', own)), { qos: 1 });
    expect(errorCodeOf(await refused)).toBe('PERMISSION_DENIED');
    expect(leaked).toEqual([]);
    aedes.unsubscribe(topics.infer('acl-edge'), spy, () => {});

    // Its own infer topic, but directing the answer at another device: refused on its own topic.
    const denied = nextMessage(client, own);
    await client.publishAsync(
      topics.infer(CLOUD_EDGE_ID),
      Buffer.from(request('r2', topics.reply('direct-1'))),
      {
        qos: 1,
      },
    );
    expect(errorCodeOf(await denied)).toBe('PERMISSION_DENIED');
  });

  it('gets DEADLINE_EXCEEDED rather than a late answer, an error for a bad request, and garbage is dropped', async () => {
    const { token } = await cloud.admin.createDevice('direct-bad', null);
    const client = track(await mustConnect(cloud.mqttUrl, 'direct-bad', token));
    const own = topics.reply('direct-bad');
    await client.subscribeAsync(own, { qos: 1 });
    const infer = topics.infer(CLOUD_EDGE_ID);

    const late = nextMessage(client, own);
    await client.publishAsync(infer, Buffer.from(request('late', own, 1)), { qos: 1 });
    expect(errorCodeOf(await late)).toBe('DEADLINE_EXCEEDED');

    const wrongShape = nextMessage(client, own);
    const bad = encodeInferMessage({ id: 'shape', parameters: { reply_to: own, deadline_ms: 3000 } }, [
      { name: 'image', datatype: 'FP32', shape: [1, 1, 14, 14], data: new Float32Array(196) },
    ]);
    await client.publishAsync(infer, Buffer.from(bad), { qos: 1 });
    expect(errorCodeOf(await wrongShape)).toBe('INVALID_ARG');

    const dropped = cloud.server.fabric.directDevices.stats.dropped;
    await client.publishAsync(infer, Buffer.from('not a fogline message'), { qos: 1 });
    await eventually(() => cloud.server.fabric.directDevices.stats.dropped === dropped + 1);
    // The broker is still up and still answers.
    const after = nextMessage(client, own);
    await client.publishAsync(infer, Buffer.from(request('after', own)), { qos: 1 });
    expect(decodeInferMessage(await after)).toMatchObject({
      kind: 'response',
      header: { id: 'after', parameters: { tier: 'cloud', degraded: false } },
    });
    // What /metrics says matches what the server counted, outcome by outcome.
    const metrics = await (await fetch(`${cloud.url}/metrics`)).text();
    const stats = cloud.server.fabric.directDevices.stats;
    for (const outcome of ['received', 'answered', 'errors', 'dropped'] as const) {
      const line = new RegExp(`^fogline_direct_device_requests_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm');
      expect(Number(line.exec(metrics)?.[1])).toBe(stats[outcome]);
    }
    expect(stats.dropped).toBeGreaterThanOrEqual(1);
    expect(stats.errors).toBeGreaterThanOrEqual(2);
  });

  it('is refused when it belongs to an edge, with a wrong or unknown token, or as an edge named cloud', async () => {
    await cloud.admin.createEdge('real-edge');
    const onEdge = await cloud.admin.createDevice('edge-dev', 'real-edge');
    const direct = await cloud.admin.createDevice('direct-tok', null);
    expect(await connectMqtt(cloud.mqttUrl, 'edge-dev', onEdge.token)).toMatchObject({ ok: false, code: 4 });
    expect(await connectMqtt(cloud.mqttUrl, 'direct-tok', onEdge.token)).toMatchObject({
      ok: false,
      code: 4,
    });
    expect(await connectMqtt(cloud.mqttUrl, 'nobody', direct.token)).toMatchObject({ ok: false, code: 4 });
    expect(await connectMqtt(cloud.mqttUrl, 'direct-tok', 'fgd_wrong')).toMatchObject({ ok: false, code: 4 });
    await expect(
      connectDevice({
        broker: cloud.mqttUrl,
        deviceId: 'edge-dev',
        token: onEdge.token,
        edgeId: CLOUD_EDGE_ID,
      }),
    ).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

    await expect(cloud.admin.createEdge(CLOUD_EDGE_ID)).rejects.toMatchObject({ code: 'INVALID_ARG' });
    const res = await fetch(`${cloud.url}/api/edges`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cloud.ready.adminToken.token}` },
      body: JSON.stringify({ id: CLOUD_EDGE_ID }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/reserved/);
    await expect(cloud.admin.createDevice('x-dev', CLOUD_EDGE_ID)).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });
  });

  it('is disconnected at once when revoked, and its token is refused from then on', async () => {
    const { token } = await cloud.admin.createDevice('direct-rev', null);
    const client = track(await mustConnect(cloud.mqttUrl, 'direct-rev', token));
    const device = await connectDevice({
      broker: cloud.mqttUrl,
      deviceId: 'direct-rev2',
      token: (await cloud.admin.createDevice('direct-rev2', null)).token,
      edgeId: CLOUD_EDGE_ID,
      runtime: 'node',
    });
    devices.push(device);
    const gone = closed(client, 2000);
    await cloud.admin.revokeDevice('direct-rev');
    await gone;
    expect(await connectMqtt(cloud.mqttUrl, 'direct-rev', token)).toMatchObject({ ok: false, code: 4 });
    // Through the SDK: a revoked device ends up refused.
    await cloud.admin.revokeDevice('direct-rev2');
    await eventually(() => device.state === 'refused', 5000);
    // The edge-device kind check: revoking a device never disconnects an edge of the same id (the
    // two never hold one id at once, but a revoked device's id may go to an edge, and revoking is
    // idempotent).
    await cloud.admin.createDevice('twin', null);
    await cloud.admin.revokeDevice('twin');
    const edge = await cloud.admin.createEdge('twin');
    const edgeClient = track(await mustConnect(cloud.mqttUrl, 'twin', edge.token));
    await cloud.admin.revokeDevice('twin');
    await new Promise((r) => setTimeout(r, 200));
    expect(edgeClient.connected).toBe(true);
  });
});

/**
 * Devices repeat their inputs, and the cloud's response cache answers the repeats: a device with no
 * edge, on the cloud broker, asking the cloud model (with `response_cache` enabled, on a server
 * with `responseCacheMb`) the same image twice gets the same answer, the second time from the cache
 * and without a model run. The direct-device path and HTTP infer (clients, and edges escalating)
 * call the same `ModelInstance.infer`, so one cache serves both: an image first seen over HTTP is a
 * hit for a device. Real sockets on 127.0.0.1, the real Aedes broker, onnxruntime, the device SDK.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FabricCloud, jsonInferBody, makeModelRepo, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { CLOUD_EDGE_ID } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const split = loadDigits('test');
const image = (i: number) => split.images.slice(i * 784, (i + 1) * 784);
/** A policy under which the device always asks (the margin never reaches 1). */
const ESCALATE = { score: 'margin' as const, threshold: 1 };

let cloud: FabricCloud;
let device: Device | undefined;

beforeAll(async () => {
  const repo = makeModelRepo(['digits-tiny']);
  const file = join(repo, 'digits-tiny', 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, response_cache: { enable: true } }));
  cloud = await startFabricCloud({ modelsDir: repo, cloudModel: 'digits-tiny', responseCacheMb: 1 });
  const { token } = await cloud.admin.createDevice('repeater', null);
  device = await connectDevice({
    broker: cloud.mqttUrl,
    deviceId: 'repeater',
    token,
    edgeId: CLOUD_EDGE_ID,
    runtime: 'node',
    policy: ESCALATE,
  });
}, 60_000);
afterAll(async () => {
  await device?.close().catch(() => {});
  await cloud?.stop();
});

const cacheCounts = () => {
  const { cacheHit, cacheMiss } = cloud.server.models.resolve('digits-tiny').requests;
  return { hits: cacheHit.count, misses: cacheMiss.count };
};
const executions = () => cloud.server.models.resolve('digits-tiny').batcher.stats.executions;

describe('the response cache on the direct-device path', () => {
  it("answers a device's repeated image from the cache, with the same answer", async () => {
    const before = { ...cacheCounts(), executions: executions() };
    const first = await device!.infer(image(0), { deadlineMs: 5000 });
    const second = await device!.infer(image(0), { deadlineMs: 5000 });
    expect(first).toMatchObject({ tier: 'cloud', degraded: false });
    expect(second).toMatchObject({ tier: 'cloud', label: first.label, score: first.score });
    expect(Array.from(second.outputs.logits)).toEqual(Array.from(first.outputs.logits));
    expect(cacheCounts()).toEqual({ hits: before.hits + 1, misses: before.misses + 1 });
    expect(executions()).toBe(before.executions + 1);
  });

  it('shares its answers with HTTP infer: an image first asked over HTTP is a hit for a device', async () => {
    const res = await fetch(`${cloud.url}/v2/models/digits-tiny/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await cloud.admin.createKey('http-client', 100, 100)).key}` },
      body: jsonInferBody(image(1)),
    });
    expect(res.status).toBe(200);
    const before = cacheCounts();
    const answer = await device!.infer(image(1), { deadlineMs: 5000 });
    expect(answer.tier).toBe('cloud');
    expect(cacheCounts()).toEqual({ hits: before.hits + 1, misses: before.misses });
  });
});

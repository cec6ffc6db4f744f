/**
 * Every endpoint and every error case of the gateway through `app.request()` (no socket), on a real
 * CloudServer: PGlite store, onnxruntime workers serving the committed digits-tiny model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelStatistics } from '../serving/model-views.ts';
import {
  argmaxRows,
  binaryInferRequest,
  digits,
  jsonInferBody,
  logitsOf,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '../testing/cloud-fixture.ts';

let cloud: RunningCloud;
let key: string;
const MAX_BODY = 64 * 1024;

const request = (path: string, init: RequestInit = {}) =>
  cloud.server.app.request(`http://localhost${path}`, init);
const admin = (path: string, init: RequestInit = {}) =>
  request(path, { ...init, headers: { authorization: `Bearer ${cloud.adminToken}`, ...init.headers } });
const infer = (body: BodyInit, headers: Record<string, string> = {}, model = 'digits-tiny') =>
  request(`/v2/models/${model}/infer`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${key}`, ...headers },
  });

async function expectError(res: Response, status: number, message?: RegExp): Promise<void> {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: string };
  expect(typeof body.error).toBe('string');
  if (message) expect(body.error).toMatch(message);
}

beforeAll(async () => {
  cloud = await startCloud({ modelsDir: makeModelRepo(['digits-tiny']), maxBodyBytes: MAX_BODY });
  key = await cloud.createKey('app-test');
});
afterAll(() => cloud?.stop());

describe('health and metadata (open, no key)', () => {
  it('answers liveness, readiness and server metadata with its extensions', async () => {
    expect((await request('/v2/health/live')).status).toBe(200);
    const ready = await request('/v2/health/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
    expect(await (await request('/v2')).json()).toEqual({
      name: 'fogline',
      version: expect.any(String),
      extensions: ['binary_tensor_data', 'model_configuration', 'model_repository', 'statistics'],
    });
  });

  it('keeps its routes matchable by RegExpRouter (no static path overlapping a parameter route)', () => {
    // Hono falls back to its TrieRouter, slower on every request, when one route set cannot be
    // compiled into one regular expression.
    expect((cloud.server.app as unknown as { router: { name: string } }).router.name).toBe(
      'SmartRouter + RegExpRouter',
    );
  });

  it('describes a model with -1 for the batch dim, at any loaded version', async () => {
    const expected = {
      name: 'digits-tiny',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }],
      // fogline's additive metadata, what an edge reads before escalating (docs/cloud.md).
      parameters: {
        tier: 'device',
        output_kind: 'logits',
        labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      },
    };
    expect(await (await request('/v2/models/digits-tiny')).json()).toEqual(expected);
    expect(await (await request('/v2/models/digits-tiny/versions/1')).json()).toEqual(expected);
    expect(await (await request('/v2/models/digits-tiny/ready')).json()).toEqual({
      name: 'digits-tiny',
      ready: true,
    });
    expect((await request('/v2/models/digits-tiny/versions/1/ready')).status).toBe(200);
  });

  it('answers 404 with {"error"} for unknown models, versions and paths', async () => {
    await expectError(await request('/v2/models/nope'), 404, /unknown model "nope"/);
    await expectError(await request('/v2/models/nope/ready'), 404);
    await expectError(await request('/v2/models/digits-tiny/versions/7'), 404, /no version 7/);
    await expectError(await request('/v2/models/digits-tiny/versions/abc'), 404);
    await expectError(await request('/v2/nothing-here'), 404);
    await expectError(await infer(jsonInferBody(digits(1).images), {}, 'nope'), 404);
  });
});

describe('inference', () => {
  it('answers JSON (flat data) with the request id echoed and the right digits', async () => {
    const { images, labels } = digits(4);
    const res = await infer(jsonInferBody(images, { id: 'req-42' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const { logits, shape, header } = await logitsOf(res);
    expect(header).toMatchObject({ model_name: 'digits-tiny', model_version: '1', id: 'req-42' });
    expect(shape).toEqual([4, 10]);
    // The committed tiny model gets most test digits right.
    const right = argmaxRows(logits).filter((d, i) => d === labels[i]).length;
    expect(right).toBeGreaterThanOrEqual(3);
  });

  it('accepts nested data and versioned paths, and gives identical results', async () => {
    const { images } = digits(1);
    const rows = Array.from({ length: 28 }, (_, r) => Array.from(images.subarray(r * 28, r * 28 + 28)));
    const nested = JSON.stringify({
      inputs: [{ name: 'image', shape: [1, 1, 28, 28], datatype: 'FP32', data: [[rows]] }],
    });
    const a = await logitsOf(await infer(nested));
    const b = await logitsOf(
      await request('/v2/models/digits-tiny/versions/1/infer', {
        method: 'POST',
        body: jsonInferBody(images),
        headers: { authorization: `Bearer ${key}` },
      }),
    );
    expect(a.logits).toEqual(b.logits);
  });

  it('speaks the binary tensor extension both ways, with results equal to JSON', async () => {
    const { images } = digits(3, 10);
    const json = await logitsOf(await infer(jsonInferBody(images)));
    const { body, headers } = binaryInferRequest(images);
    const res = await infer(body, headers);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Number(res.headers.get('inference-header-content-length'))).toBeGreaterThan(0);
    const bin = await logitsOf(res);
    expect(bin.header).toMatchObject({
      outputs: [{ name: 'logits', parameters: { binary_data_size: 120 } }],
    });
    expect(bin.logits).toEqual(json.logits.map(Math.fround));

    // JSON request asking for a binary output; binary request asking for JSON.
    const mixed1 = await infer(
      jsonInferBody(images, { outputs: [{ name: 'logits', parameters: { binary_data: true } }] }),
    );
    expect(mixed1.headers.get('content-type')).toBe('application/octet-stream');
    expect((await logitsOf(mixed1)).logits).toEqual(bin.logits);
    const asJson = binaryInferRequest(images, { outputs: [{ name: 'logits' }] });
    const mixed2 = await infer(asJson.body, asJson.headers);
    expect(mixed2.headers.get('content-type')).toMatch(/json/);
    expect((await logitsOf(mixed2)).logits).toEqual(json.logits);
  });

  it('refuses requests without a key or with a wrong one (401)', async () => {
    const body = jsonInferBody(digits(1).images);
    const none = await request('/v2/models/digits-tiny/infer', { method: 'POST', body });
    await expectError(none, 401, /missing API key/);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await request('/v2/models/digits-tiny/infer', {
      method: 'POST',
      body,
      headers: { authorization: `Bearer fgl_${'x'.repeat(43)}` },
    });
    await expectError(wrong, 401, /invalid or revoked/);
  });

  it.each([
    ['malformed JSON', '{"inputs": [', /not valid UTF-8 JSON/],
    ['a response instead of a request', '{"model_name":"x","outputs":[]}', /must have an "inputs" array/],
    [
      'an unknown input',
      JSON.stringify({
        inputs: [{ name: 'pixels', shape: [1, 784], datatype: 'FP32', data: new Array(784).fill(0) }],
      }),
      /no input "pixels"/,
    ],
    [
      'a wrong datatype',
      JSON.stringify({
        inputs: [{ name: 'image', shape: [1, 1, 28, 28], datatype: 'INT32', data: new Array(784).fill(0) }],
      }),
      /datatype INT32/,
    ],
    [
      'a wrong shape',
      JSON.stringify({
        inputs: [{ name: 'image', shape: [1, 28, 28], datatype: 'FP32', data: new Array(784).fill(0) }],
      }),
      /the model expects \[-1,1,28,28\]/,
    ],
    [
      'data length ≠ product(shape)',
      JSON.stringify({
        inputs: [{ name: 'image', shape: [1, 1, 28, 28], datatype: 'FP32', data: [1, 2, 3] }],
      }),
      /3 elements but its shape needs 784/,
    ],
    [
      'an absurd shape',
      JSON.stringify({
        inputs: [{ name: 'image', shape: [99999999, 1, 28, 28], datatype: 'FP32', data: [] }],
      }),
      /limit/,
    ],
    [
      'a batch over max_batch_size',
      JSON.stringify({
        inputs: [
          { name: 'image', shape: [65, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 0 } },
        ],
      }),
      /outside 1\.\.64|binary_data_size/,
    ],
  ])('refuses %s with 400', async (_, body, message) => {
    await expectError(await infer(body), 400, message);
  });

  it('refuses binary sizes that do not add up and bad header lengths (400)', async () => {
    const { body, headers } = binaryInferRequest(digits(1).images);
    await expectError(await infer(body.slice(0, body.length - 4), headers), 400, /binary_data_size/);
    await expectError(
      await infer(body, { 'inference-header-content-length': String(body.length + 1) }),
      400,
      /runs past/,
    );
    await expectError(await infer(body, { 'inference-header-content-length': 'ten' }), 400, /byte count/);
  });

  it('refuses a body past the limit with 413', async () => {
    const big = jsonInferBody(digits(16).images);
    expect(big.length).toBeGreaterThan(MAX_BODY);
    await expectError(await infer(big), 413, /exceeds the limit/);
  });

  it('still serves after all of that', async () => {
    expect((await infer(jsonInferBody(digits(1).images))).status).toBe(200);
  });
});

describe('statistics and metrics', () => {
  it('counts successes, failures, executions and batch sizes per model', async () => {
    const res = await request('/v2/models/digits-tiny/stats');
    const { model_stats } = (await res.json()) as { model_stats: ModelStatistics[] };
    const s = model_stats[0]!;
    expect(s).toMatchObject({ name: 'digits-tiny', version: '1' });
    expect(s.inference_stats.success.count).toBeGreaterThanOrEqual(5);
    expect(s.inference_stats.fail.count).toBeGreaterThanOrEqual(8);
    expect(s.execution_count).toBeGreaterThanOrEqual(5);
    expect(s.inference_count).toBeGreaterThanOrEqual(s.execution_count);
    expect(s.batch_stats.length).toBeGreaterThan(0);
    const all = (await (await request('/v2/models/stats')).json()) as { model_stats: unknown[] };
    expect(all.model_stats).toHaveLength(1);
  });

  it('exposes Prometheus metrics: requests by model/version/status, latency, queue depth, batch sizes', async () => {
    const res = await request('/metrics');
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(
      /fogline_inference_requests_total\{model="digits-tiny",version="1",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /fogline_inference_requests_total\{model="digits-tiny",version="1",status="400"\} \d+/,
    );
    expect(text).toMatch(/fogline_inference_request_duration_seconds_bucket/);
    expect(text).toMatch(/fogline_inference_queue_depth\{model="digits-tiny",version="1"\} 0/);
    expect(text).toMatch(/fogline_inference_batch_size_count\{model="digits-tiny"\} \d+/);
    expect(text).toMatch(/fogline_rate_limited_total/);
  });
});

describe('admin API (/api/keys)', () => {
  it('needs the admin token', async () => {
    await expectError(await request('/api/keys'), 401, /missing admin token/);
    await expectError(
      await request('/api/keys', { headers: { authorization: `Bearer ${key}` } }),
      401,
      /invalid admin token/,
    );
  });

  it('creates (key shown once), lists (no secrets) and revokes keys; revocation is immediate', async () => {
    const created = await admin('/api/keys', {
      method: 'POST',
      body: JSON.stringify({ name: 'temp', ratePerSec: 5, burst: 3 }),
    });
    expect(created.status).toBe(201);
    const { key: tempKey, ...view } = (await created.json()) as { key: string; name: string };
    expect(tempKey).toMatch(/^fgl_/);
    expect(view).toMatchObject({ name: 'temp', ratePerSec: 5, burst: 3, revokedAt: null });
    const body = jsonInferBody(digits(1).images);
    const withTemp = () =>
      request('/v2/models/digits-tiny/infer', {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${tempKey}` },
      });
    expect((await withTemp()).status).toBe(200);

    const list = (await (await admin('/api/keys')).json()) as { keys: Record<string, unknown>[] };
    expect(list.keys.map((k) => k.name)).toContain('temp');
    expect(JSON.stringify(list)).not.toContain(tempKey);

    const revoked = await admin('/api/keys/temp', { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();
    await expectError(await withTemp(), 401, /invalid or revoked/);
  });

  it('maps store errors: duplicate 409, invalid 400, unknown 404', async () => {
    await expectError(
      await admin('/api/keys', {
        method: 'POST',
        body: JSON.stringify({ name: 'app-test', ratePerSec: 1, burst: 1 }),
      }),
      409,
    );
    await expectError(
      await admin('/api/keys', {
        method: 'POST',
        body: JSON.stringify({ name: 'x', ratePerSec: -1, burst: 1 }),
      }),
      400,
    );
    await expectError(await admin('/api/keys', { method: 'POST', body: 'not json' }), 400, /not valid JSON/);
    await expectError(await admin('/api/keys/ghost', { method: 'DELETE' }), 404);
  });
});

describe('repository extension', () => {
  it('indexes the repository, and load/unload need the admin token', async () => {
    const index = await request('/v2/repository/index', { method: 'POST' });
    expect(await index.json()).toEqual([{ name: 'digits-tiny', version: '1', state: 'READY' }]);
    await expectError(await request('/v2/repository/models/digits-tiny/unload', { method: 'POST' }), 401);
    await expectError(await admin('/v2/repository/models/nope/load', { method: 'POST' }), 404);
    await expectError(await admin('/v2/repository/models/..%2Fetc/load', { method: 'POST' }), 404);
  });

  it('unloads (503 on infer and ready) and loads again', async () => {
    expect((await admin('/v2/repository/models/digits-tiny/unload', { method: 'POST' })).status).toBe(200);
    await expectError(await infer(jsonInferBody(digits(1).images)), 503, /not loaded/);
    expect((await request('/v2/models/digits-tiny/ready')).status).toBe(503);
    const index = (await (await request('/v2/repository/index', { method: 'POST' })).json()) as {
      state: string;
    }[];
    expect(index[0]).toMatchObject({ name: 'digits-tiny', state: 'UNAVAILABLE' });
    const readyOnly = await request('/v2/repository/index', { method: 'POST', body: '{"ready":true}' });
    expect(await readyOnly.json()).toEqual([]);

    expect((await admin('/v2/repository/models/digits-tiny/load', { method: 'POST' })).status).toBe(200);
    expect((await infer(jsonInferBody(digits(1).images))).status).toBe(200);
  });
});

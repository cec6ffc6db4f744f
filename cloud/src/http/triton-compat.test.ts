/**
 * What Triton's own HTTP client (`tritonclient.http`) sends and expects, reproduced byte for byte
 * against a real CloudServer on a socket (127.0.0.1 port 0, onnxruntime workers on digits-tiny):
 * `get_model_config`, `infer(request_compression_algorithm='gzip'|'deflate')` (the body gzip- or
 * zlib-compressed, `Inference-Header-Content-Length` the uncompressed JSON length),
 * `response_compression_algorithm` (`Accept-Encoding`) and `get_inference_statistics` keys;
 * `load_model(config=...)` is in triton-load-config.test.ts.
 * Run Triton's real client against a server with test/triton-client/run.sh.
 */
import { deflateRawSync, deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelStatistics } from '../serving/model-views.ts';
import {
  binaryInferRequest,
  digits,
  jsonInferBody,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '../testing/cloud-fixture.ts';
import { jsonOf, rawRequest } from '../testing/raw-http.ts';

const MAX_BODY = 64 * 1024;
let cloud: RunningCloud;

/** One HTTP exchange as tritonclient makes it (no automatic Accept-Encoding). */
const send = (
  method: string,
  path: string,
  body?: Uint8Array | string,
  headers: Record<string, string> = {},
) => rawRequest(cloud.url, method, path, body, headers);

const json = jsonOf;

/** Logits of an infer response body (JSON or binary), already decompressed. */
function logits(body: Buffer, headerLength?: string | string[]): number[] {
  const n = headerLength === undefined ? body.length : Number(headerLength);
  const header = JSON.parse(body.subarray(0, n).toString('utf8')) as {
    outputs: { data?: number[]; parameters?: { binary_data_size?: number } }[];
  };
  const out = header.outputs[0]!;
  if (out.data) return out.data;
  const raw = body.subarray(n, n + out.parameters!.binary_data_size!);
  return Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)));
}

const infer = (body: Uint8Array | string, headers: Record<string, string> = {}) =>
  send('POST', '/v2/models/digits-tiny/infer', body, headers);

beforeAll(async () => {
  cloud = await startCloud({
    modelsDir: makeModelRepo(['digits-tiny']),
    maxBodyBytes: MAX_BODY,
    auth: false,
    serving: { workers: 1, intraOpThreads: 1 },
  });
});
afterAll(() => cloud?.stop());

describe('GET /v2/models/{m}[/versions/{v}]/config (get_model_config)', () => {
  it("answers Triton's model configuration: dims without the batch dim, batching in µs, fogline fields as parameters", async () => {
    const expected = {
      name: 'digits-tiny',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      version_policy: { latest: { num_versions: 1 } },
      max_batch_size: 8,
      input: [{ name: 'image', data_type: 'TYPE_FP32', dims: [1, 28, 28] }],
      output: [{ name: 'logits', data_type: 'TYPE_FP32', dims: [10] }],
      dynamic_batching: {
        preferred_batch_size: [1, 4, 8],
        max_queue_delay_microseconds: 0,
        default_queue_policy: { max_queue_size: 1024 },
      },
      instance_group: [{ name: 'digits-tiny', kind: 'KIND_CPU', count: 1 }],
      default_model_filename: 'model.onnx',
      response_cache: { enable: false },
      parameters: {
        tier: { string_value: 'device' },
        description: { string_value: expect.any(String) },
        output_kind: { string_value: 'logits' },
        labels: { string_value: JSON.stringify(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) },
        routing: { string_value: expect.stringContaining('"score":"margin"') },
        preprocessing: { string_value: expect.stringContaining('"layout":"NCHW"') },
        intra_op_thread_count: { string_value: '1' },
      },
    };
    const res = await send('GET', '/v2/models/digits-tiny/config');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(json(res)).toEqual(expected);
    expect(json(await send('GET', '/v2/models/digits-tiny/versions/1/config'))).toEqual(expected);
  });

  it('answers 404 for an unknown model or version', async () => {
    expect((await send('GET', '/v2/models/nope/config')).status).toBe(404);
    expect((await send('GET', '/v2/models/digits-tiny/versions/9/config')).status).toBe(404);
  });
});

describe('request compression (Content-Encoding)', () => {
  const { images } = digits(2);
  let plain: number[];
  beforeAll(async () => {
    const res = await infer(jsonInferBody(images));
    expect(res.status).toBe(200);
    plain = logits(res.body);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync], // zlib format, as tritonclient's zlib.compress
    ['deflate', deflateRawSync], // raw deflate, as some other clients send it
  ] as const)('reads a %s JSON body (%o) like the plain one', async (coding, compress) => {
    const res = await infer(compress(jsonInferBody(images)), { 'content-encoding': coding });
    expect(res.status).toBe(200);
    expect(logits(res.body)).toEqual(plain);
  });

  it('reads a gzip binary body whose Inference-Header-Content-Length is the uncompressed JSON length', async () => {
    const { body, headers } = binaryInferRequest(images, {});
    const res = await infer(gzipSync(body), { ...headers, 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(logits(res.body).map(Math.fround)).toEqual(plain.map(Math.fround));
  });

  it('reads a binary batch past 16 kB whose tensor starts at an odd offset, as tritonclient sends it', async () => {
    const eight = digits(8).images;
    // tritonclient writes the JSON header as it is, so the tensor bytes start wherever it ends.
    const header = JSON.stringify({
      id: 'r1x',
      inputs: [
        { name: 'image', shape: [8, 1, 28, 28], datatype: 'FP32', parameters: { binary_data_size: 25088 } },
      ],
      outputs: [{ name: 'logits', parameters: { binary_data: true } }],
    });
    expect(header.length % 4).not.toBe(0);
    const body = Buffer.concat([
      Buffer.from(header),
      Buffer.from(eight.buffer, eight.byteOffset, eight.byteLength),
    ]);
    const res = await infer(body, {
      'inference-header-content-length': String(header.length),
      'content-type': 'application/octet-stream',
    });
    expect(res.status).toBe(200);
    const plain = await infer(jsonInferBody(eight));
    const h = res.headers['inference-header-content-length'];
    expect(logits(res.body, h).map(Math.fround)).toEqual(logits(plain.body).map(Math.fround));
  });

  it('refuses an unknown or stacked encoding with 415, before reading the body', async () => {
    for (const coding of ['br', 'compress', 'gzip, deflate']) {
      const res = await infer(jsonInferBody(images), { 'content-encoding': coding });
      expect(res.status, coding).toBe(415);
      expect(json(res).error).toMatch(/Content-Encoding .* is not supported; send gzip, deflate or identity/);
    }
  });

  it('refuses a zip bomb with 413 (the limit applies after decompression) and keeps serving', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(MAX_BODY);
    const res = await infer(bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(json(res).error).toMatch(/inflates past the limit of 65536 bytes/);
    const deflated = await infer(deflateSync(Buffer.alloc(8 * MAX_BODY, 0x20)), {
      'content-encoding': 'deflate',
    });
    expect(deflated.status).toBe(413);
    expect((await infer(jsonInferBody(images))).status).toBe(200);
  });

  it('refuses a body that is not the data its encoding says with 400', async () => {
    const res = await infer(jsonInferBody(images), { 'content-encoding': 'gzip' });
    expect(res.status).toBe(400);
    expect(json(res).error).toMatch(/not valid gzip data/);
  });

  it('reads compressed bodies on the other POST routes too (repository index)', async () => {
    const res = await send('POST', '/v2/repository/index', gzipSync('{"ready": true}'), {
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    expect(json(res)).toEqual([{ name: 'digits-tiny', version: '1', state: 'READY' }]);
  });
});

describe('response compression (Accept-Encoding)', () => {
  const { images } = digits(3, 5);

  it('compresses the infer response when asked for gzip or deflate, and not otherwise', async () => {
    const plain = await infer(jsonInferBody(images));
    expect(plain.headers['content-encoding']).toBeUndefined();
    const gz = await infer(jsonInferBody(images), { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(logits(gunzipSync(gz.body))).toEqual(logits(plain.body));
    const zl = await infer(jsonInferBody(images), { 'accept-encoding': 'deflate' });
    expect(zl.headers['content-encoding']).toBe('deflate');
    expect(logits(inflateSync(zl.body))).toEqual(logits(plain.body));
    const preferred = await infer(jsonInferBody(images), { 'accept-encoding': 'gzip;q=0.2, deflate' });
    expect(preferred.headers['content-encoding']).toBe('deflate');
    const refused = await infer(jsonInferBody(images), { 'accept-encoding': 'gzip;q=0, br' });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('says Vary: Accept-Encoding on every infer answer, compressed or not (RFC 9110 §12.5.5)', async () => {
    const { body, headers } = binaryInferRequest(images);
    for (const [request, extra] of [
      [jsonInferBody(images), {}],
      [jsonInferBody(images), { 'accept-encoding': 'gzip' }],
      [jsonInferBody(images), { 'accept-encoding': 'br' }],
      [body, { ...headers, 'accept-encoding': 'deflate' }],
    ] as const) {
      const res = await infer(request, extra);
      expect(res.status).toBe(200);
      expect(res.headers.vary, JSON.stringify(extra)).toBe('Accept-Encoding');
    }
  });

  it('keeps Inference-Header-Content-Length the uncompressed header length on a binary response', async () => {
    const { body, headers } = binaryInferRequest(images);
    const plain = await infer(body, headers);
    const gz = await infer(body, { ...headers, 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const h = gz.headers['inference-header-content-length'];
    expect(h).toBe(plain.headers['inference-header-content-length']);
    expect(logits(gunzipSync(gz.body), h)).toEqual(logits(plain.body, h));
  });
});

describe('statistics (get_inference_statistics)', () => {
  it("has every key of Triton's inference_stats and batch_stats as {count, ns}", async () => {
    expect((await infer(jsonInferBody(digits(2).images))).status).toBe(200);
    const res = await send('GET', '/v2/models/digits-tiny/stats');
    const s = (json(res) as { model_stats: ModelStatistics[] }).model_stats[0]!;
    const duration = { count: expect.any(Number), ns: expect.any(Number) };
    expect(s.inference_stats).toEqual({
      success: duration,
      fail: duration,
      queue: duration,
      compute_input: duration,
      compute_infer: duration,
      compute_output: duration,
      cache_hit: { count: 0, ns: 0 },
      cache_miss: { count: 0, ns: 0 },
    });
    // Every successful request was decoded and encoded, and took some time doing it.
    expect(s.inference_stats.compute_input.count).toBe(s.inference_stats.success.count);
    expect(s.inference_stats.compute_output.count).toBe(s.inference_stats.success.count);
    expect(s.inference_stats.compute_input.ns).toBeGreaterThan(0);
    expect(s.inference_stats.compute_output.ns).toBeGreaterThan(0);
    expect(s.batch_stats.length).toBeGreaterThan(0);
    for (const b of s.batch_stats) {
      expect(b).toEqual({
        batch_size: expect.any(Number),
        compute_input: { count: 0, ns: 0 },
        compute_infer: duration,
        compute_output: { count: 0, ns: 0 },
      });
    }
  });
});

describe('/metrics', () => {
  it('labels request counters with the version and exposes queue and compute time totals', async () => {
    expect((await send('POST', '/v2/models/nope/infer', '{}')).status).toBe(404);
    expect((await infer(jsonInferBody(digits(1).images))).status).toBe(200);
    const text = (await send('GET', '/metrics')).body.toString();
    expect(text).toMatch(
      /fogline_inference_requests_total\{model="digits-tiny",version="1",status="200"\} \d+/,
    );
    expect(text).toMatch(/fogline_inference_requests_total\{model="",version="",status="404"\} \d+/);
    for (const name of ['queue', 'compute_input', 'compute_infer', 'compute_output']) {
      expect(text).toMatch(
        new RegExp(
          `fogline_inference_${name}_duration_seconds_total\\{model="digits-tiny",version="1"\\} [0-9.e-]+`,
        ),
      );
    }
    expect(text).toMatch(/fogline_inference_executions_total\{model="digits-tiny",version="1"\} [1-9]/);
    expect(text).not.toMatch(/nodejs_active_handles_total/);
  });
});

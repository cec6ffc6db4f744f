/**
 * tritonclient's `load_model(config=...)` against a real CloudServer (127.0.0.1 port 0, onnxruntime
 * workers on digits-tiny): the override (`{"parameters": {"config": "<JSON text>"}}`) in Triton's or
 * fogline's field names applied, or refused with the field's name; and load errors that never show
 * the server's paths. The rest of the Triton surface is in triton-compat.test.ts.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  digits,
  jsonInferBody,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '../testing/cloud-fixture.ts';
import { jsonOf as json, rawRequest } from '../testing/raw-http.ts';

let cloud: RunningCloud;
let repoDir: string;

const send = (
  method: string,
  path: string,
  body?: Uint8Array | string,
  headers: Record<string, string> = {},
) => rawRequest(cloud.url, method, path, body, headers);
const infer = (body: string) => send('POST', '/v2/models/digits-tiny/infer', body);
const config = async () => json(await send('GET', '/v2/models/digits-tiny/config'));
const load = (override?: unknown, headers: Record<string, string> = {}) =>
  send(
    'POST',
    '/v2/repository/models/digits-tiny/load',
    JSON.stringify(
      override === undefined
        ? {}
        : { parameters: { config: typeof override === 'string' ? override : JSON.stringify(override) } },
    ),
    headers,
  );

beforeAll(async () => {
  repoDir = makeModelRepo(['digits-tiny']);
  cloud = await startCloud({ modelsDir: repoDir, auth: false, serving: { workers: 1, intraOpThreads: 1 } });
});
afterAll(() => cloud?.stop());

describe('POST /v2/repository/models/{m}/load with a config (load_model(config=...))', () => {
  it("applies an override in Triton's field names, then goes back to config.json on a plain load", async () => {
    const res = await load({
      max_batch_size: 4,
      dynamic_batching: { preferred_batch_size: [2, 4], max_queue_delay_microseconds: 500 },
      instance_group: [{ kind: 'KIND_CPU', count: 2 }],
    });
    expect(res.status, res.body.toString()).toBe(200);
    const applied = await config();
    expect(applied).toMatchObject({
      max_batch_size: 4,
      dynamic_batching: {
        preferred_batch_size: [2, 4],
        max_queue_delay_microseconds: 500,
        default_queue_policy: { max_queue_size: 1024 },
      },
      instance_group: [{ kind: 'KIND_CPU', count: 2 }],
    });
    // It is what serves: a batch of 5 is now over the limit.
    const five = await infer(jsonInferBody(digits(5).images));
    expect(five.status).toBe(400);
    expect(json(five).error).toMatch(/outside 1\.\.4/);
    expect((await infer(jsonInferBody(digits(4).images))).status).toBe(200);

    // get_model_config → load_model(config=...) round-trips unchanged.
    expect((await load(applied)).status).toBe(200);
    expect(await config()).toEqual(applied);

    expect((await load()).status).toBe(200);
    expect(await config()).toMatchObject({ max_batch_size: 8, instance_group: [{ count: 1 }] });
  });

  it("accepts fogline's own field names and parameters (labels, output_kind, intra-op threads)", async () => {
    const res = await load({
      dynamic_batching: { max_queue_delay_ms: 2, max_queue_size: 64 },
      parameters: {
        output_kind: { string_value: 'probabilities' },
        intra_op_thread_count: { string_value: '2' },
        labels: {
          string_value: JSON.stringify('zero one two three four five six seven eight nine'.split(' ')),
        },
      },
    });
    expect(res.status, res.body.toString()).toBe(200);
    const c = await config();
    expect(c.dynamic_batching).toEqual({
      preferred_batch_size: [],
      max_queue_delay_microseconds: 2000,
      default_queue_policy: { max_queue_size: 64 },
    });
    expect(c.parameters.output_kind).toEqual({ string_value: 'probabilities' });
    expect(c.parameters.intra_op_thread_count).toEqual({ string_value: '2' });
    expect(JSON.parse(c.parameters.labels.string_value)[0]).toBe('zero');
    expect((await load()).status).toBe(200);
  });

  it.each([
    [
      'max_batch_size 0 (no batching)',
      { max_batch_size: 0 },
      /field "max_batch_size" must be an integer >= 1/,
    ],
    [
      'a GPU instance group',
      { instance_group: [{ kind: 'KIND_GPU', count: 1 }] },
      /instance_group\[0\]\.kind" must be KIND_CPU/,
    ],
    [
      'a field fogline does not have',
      { sequence_batching: {} },
      /field "sequence_batching" is not supported/,
    ],
    ['another backend', { backend: 'tensorrt' }, /field "backend" must be "onnxruntime"/],
    ['another model name', { name: 'digits-mid' }, /field "name" is "digits-mid"/],
    [
      'an unknown datatype',
      { input: [{ name: 'image', data_type: 'TYPE_STRING', dims: [1, 28, 28] }] },
      /input\[0\]\.data_type/,
    ],
    [
      "dims that are not the model file's",
      { input: [{ name: 'image', data_type: 'TYPE_FP32', dims: [1, 14, 14] }] },
      /load config of model "digits-tiny" \(tensors\): .*does not match .*shape\[2\] is 14, the model's is 28/,
    ],
    ['several versions', { version_policy: { all: {} } }, /version_policy/],
    ['priorities', { dynamic_batching: { priority_levels: 2 } }, /priority_levels" must be 0/],
    [
      'an unknown parameter',
      { parameters: { execution_mode: { string_value: '1' } } },
      /parameters\.execution_mode/,
    ],
    ['text that is not JSON', '{"max_batch_size": ', /parameter "config" is not valid JSON/],
  ])('refuses %s with 400 and the reason, and keeps serving the old config', async (_, override, message) => {
    const res = await load(override);
    expect(res.status, res.body.toString()).toBe(400);
    const error = json(res).error as string;
    expect(error).toMatch(message);
    expect(error).not.toContain(repoDir);
    expect(await config()).toMatchObject({ max_batch_size: 8 });
    expect((await infer(jsonInferBody(digits(1).images))).status).toBe(200);
  });

  it('refuses model files sent inline (file: parameters) with 400', async () => {
    const res = await send(
      'POST',
      '/v2/repository/models/digits-tiny/load',
      JSON.stringify({ parameters: { config: '{}', 'file:1/model.onnx': 'AAAA' } }),
    );
    expect(res.status).toBe(400);
    expect(json(res).error).toMatch(/parameter "file:1\/model.onnx" is not supported/);
  });

  it('reads a gzip-compressed load request', async () => {
    const body = gzipSync(JSON.stringify({ parameters: { config: JSON.stringify({ max_batch_size: 2 }) } }));
    const res = await send('POST', '/v2/repository/models/digits-tiny/load', body, {
      'content-encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    expect((await config()).max_batch_size).toBe(2);
    expect((await load()).status).toBe(200);
  });

  it("answers an unknown model's load with 404 and no server path, in the reply and in the index", async () => {
    const res = await send('POST', '/v2/repository/models/ghost/load', '{}');
    expect(res.status).toBe(404);
    const error = json(res).error as string;
    expect(error).toBe('unknown model "ghost": the model repository has no ghost/config.json');
    const index = await send('POST', '/v2/repository/index', '{}');
    expect(index.body.toString()).not.toContain(repoDir);
  });

  it('names a broken config.json relative to the repository, in the reply and in the index', async () => {
    mkdirSync(join(repoDir, 'broken', '1'), { recursive: true });
    writeFileSync(join(repoDir, 'broken', 'config.json'), '{"name": "broken",');
    const res = await send('POST', '/v2/repository/models/broken/load', '{}');
    expect(res.status).toBe(400);
    expect(json(res).error).toBe('broken/config.json: not valid JSON');
    const index = json(await send('POST', '/v2/repository/index', '{}')) as {
      name: string;
      reason?: string;
    }[];
    expect(index.find((m) => m.name === 'broken')).toEqual({
      name: 'broken',
      state: 'UNAVAILABLE',
      reason: 'broken/config.json: not valid JSON',
    });
    rmSync(join(repoDir, 'broken'), { recursive: true });
  });
});

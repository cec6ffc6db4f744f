/**
 * Triton's statistics extension and the per-version /metrics totals against a real CloudServer on a
 * socket (127.0.0.1 port 0, onnxruntime workers): a request whose batch fails counts in `fail` only,
 * never in `queue`, `compute_infer`, `inference_count` or `execution_count` (model_statistics.proto:
 * those cover successful requests), and a reload of a loaded version keeps that version's /metrics
 * totals equal to what it really ran, during the overlap of its two instances and after it.
 * The model is a lookup table built here: `value = table[index]`, which onnxruntime refuses for an
 * index past the table, so a request can fail inside the batch with nothing mocked.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  attrInt,
  buildModel,
  DataType,
  encodeModel,
  floatTensor,
  makeNode,
  tensorValueInfo,
} from '@fogline/toolchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelStatistics } from '../serving/model-views.ts';
import { type RunningCloud, startCloud, tempDir } from '../testing/cloud-fixture.ts';
import { jsonOf, rawRequest } from '../testing/raw-http.ts';

let cloud: RunningCloud;

/** `<repo>/<name>`: value = [0.5, 1.5][index], UINT8 [N, 1] → FP32 [N, 1]. */
function writeLookupModel(repo: string, name: string): void {
  mkdirSync(join(repo, name, '1'), { recursive: true });
  const model = buildModel({
    inputs: [tensorValueInfo('index', DataType.UINT8, ['N', 1])],
    outputs: [tensorValueInfo('value', DataType.FLOAT, ['N', 1])],
    initializers: [floatTensor('table', [2], Float32Array.of(0.5, 1.5))],
    nodes: [
      makeNode('Cast', ['index'], ['index64'], 'cast', [attrInt('to', DataType.INT64)]),
      makeNode('Gather', ['table', 'index64'], ['value'], 'lookup', [attrInt('axis', 0)]),
    ],
  });
  writeFileSync(join(repo, name, '1', 'model.onnx'), encodeModel(model));
  writeFileSync(
    join(repo, name, 'config.json'),
    JSON.stringify({
      name,
      tier: 'cloud',
      platform: 'onnxruntime_onnx',
      max_batch_size: 4,
      inputs: [{ name: 'index', datatype: 'UINT8', shape: [-1, 1] }],
      outputs: [{ name: 'value', datatype: 'FP32', shape: [-1, 1] }],
    }),
  );
}

const send = (method: string, path: string, body?: string) => rawRequest(cloud.url, method, path, body);
const lookup = (model: string, index: number) =>
  send(
    'POST',
    `/v2/models/${model}/infer`,
    JSON.stringify({ inputs: [{ name: 'index', datatype: 'UINT8', shape: [1, 1], data: [index] }] }),
  );

async function statsOf(model: string): Promise<ModelStatistics> {
  const res = await send('GET', `/v2/models/${model}/stats`);
  return (jsonOf(res) as { model_stats: ModelStatistics[] }).model_stats[0]!;
}

/** The value of one `{model, version="1"}` series in /metrics (0 when absent). */
async function scrape(model: string): Promise<Record<string, number>> {
  const text = (await send('GET', '/metrics')).body.toString();
  const read = (metric: string, extra = '') => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${metric}{model="${model}",version="1"${extra}} `));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  };
  return {
    executions: read('fogline_inference_executions_total'),
    samples: read('fogline_inference_samples_total'),
    answered: read('fogline_inference_requests_total', ',status="200"'),
  };
}

beforeAll(async () => {
  const repo = tempDir('models');
  writeLookupModel(repo, 'lookup');
  writeLookupModel(repo, 'reloaded');
  cloud = await startCloud({ modelsDir: repo, auth: false, serving: { workers: 1, intraOpThreads: 1 } });
});
afterAll(() => cloud?.stop());

describe('statistics of failed requests (get_inference_statistics)', () => {
  it('counts a request whose batch failed in `fail` only, as Triton', async () => {
    const good = await lookup('lookup', 1);
    expect(good.status).toBe(200);
    expect((jsonOf(good).outputs as { data: number[] }[])[0]!.data).toEqual([1.5]);
    const bad = await lookup('lookup', 7);
    expect(bad.status).toBe(500);
    expect(jsonOf(bad).error).toMatch(/onnxruntime/);

    const s = await statsOf('lookup');
    expect(s.inference_stats.success.count).toBe(1);
    expect(s.inference_stats.fail.count).toBe(1);
    expect(s.inference_stats.queue.count).toBe(1);
    expect(s.inference_stats.compute_input.count).toBe(1);
    expect(s.inference_stats.compute_infer.count).toBe(1);
    expect(s.inference_stats.compute_output.count).toBe(1);
    expect(s.inference_count).toBe(1);
    expect(s.execution_count).toBe(1);
    expect(s.batch_stats).toEqual([
      expect.objectContaining({ batch_size: 1, compute_infer: { count: 1, ns: expect.any(Number) } }),
    ]);
    expect(await scrape('lookup')).toEqual({ executions: 1, samples: 1, answered: 1 });
  });
});

describe('/metrics across a reload of the version that serves', () => {
  it('keeps the version totals equal to what it ran, during the overlap and after it', async () => {
    for (const index of [0, 1, 0]) expect((await lookup('reloaded', index)).status).toBe(200);
    const before = await scrape('reloaded');
    expect(before).toEqual({ executions: 3, samples: 3, answered: 3 });
    const load = await send('POST', '/v2/repository/models/reloaded/load', '{}');
    expect(load.status).toBe(200);
    // The previous instance retires in the background: scrape while it does and after it is gone.
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      expect(await scrape('reloaded')).toEqual(before);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await lookup('reloaded', 1)).status).toBe(200);
    expect(await scrape('reloaded')).toEqual({ executions: 4, samples: 4, answered: 4 });
  });
});

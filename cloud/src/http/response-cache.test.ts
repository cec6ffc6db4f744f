/**
 * The response cache as clients see it, on real CloudServers (HTTP on 127.0.0.1:0, onnxruntime):
 * off unless both the server (`responseCacheMb`) and the model's config.json (`response_cache`) turn
 * it on; a repeated request answered from it with the same outputs, its own id and either encoding,
 * counted in the statistics (`cache_hit`, `cache_miss`) and /metrics; any other input a miss;
 * least recently used answers evicted within the size; a version's answers gone once it is unloaded.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelStatistics } from '../serving/model-views.ts';
import { ENTRY_OVERHEAD_BYTES, OUTPUT_OVERHEAD_BYTES } from '../serving/response-cache.ts';
import {
  addModel,
  binaryInferRequest,
  digits,
  jsonInferBody,
  logitsOf,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '../testing/cloud-fixture.ts';

/** `digits-tiny` with `response_cache: {enable: true}`, and `plain`, the same model without it. */
function cachingRepo(): string {
  const repo = makeModelRepo(['digits-tiny']);
  addModel(repo, 'plain', 1, 'digits-tiny');
  const edit = (name: string, change: (c: Record<string, unknown>) => void) => {
    const file = join(repo, name, 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    change(config);
    writeFileSync(file, JSON.stringify(config));
  };
  edit('digits-tiny', (c) => (c.response_cache = { enable: true }));
  edit('plain', (c) => (c.name = 'plain'));
  return repo;
}

/** An answer of digits-tiny (10 FP32 logits) in the cache. */
const ENTRY_BYTES = 10 * 4 + ENTRY_OVERHEAD_BYTES + OUTPUT_OVERHEAD_BYTES;
const MIB = 1024 * 1024;

/**
 * A CloudServer on `cachingRepo()`. Each describe block starts its own in its beforeAll, one start per
 * hook as in every other cloud test: a start opens a fresh PGlite, whose initdb is seconds of CPU, and
 * the three servers started in one hook outran the hook timeout on a loaded machine.
 */
const startCachingCloud = (responseCacheMb?: number) =>
  startCloud({
    modelsDir: cachingRepo(),
    auth: false,
    serving: { workers: 1, intraOpThreads: 1 },
    ...(responseCacheMb !== undefined && { responseCacheMb }),
  });

let on: RunningCloud;
let off: RunningCloud;
let twoEntries: RunningCloud;

/** Sends digit `i` (or the digits i..i+batch-1) to `model`; the answer's logits and header. */
async function infer(
  cloud: RunningCloud,
  model: string,
  i: number,
  extra: { id?: string; batch?: number } = {},
) {
  const res = await fetch(`${cloud.url}/v2/models/${model}/infer`, {
    method: 'POST',
    body: jsonInferBody(digits(extra.batch ?? 1, i).images, extra.id ? { id: extra.id } : {}),
  });
  expect(res.status).toBe(200);
  return logitsOf(res);
}

interface Counts {
  hits: number;
  misses: number;
  executions: number;
  successes: number;
  /** Requests decoded (compute_input) and encoded (compute_output) for a model run: no cache hits. */
  computeInputs: number;
  computeOutputs: number;
  /** Triton's `queue` count: every success, cache hits included (a hit waits in no queue). */
  queues: number;
}

async function counts(cloud: RunningCloud, model: string): Promise<Counts> {
  const res = await fetch(`${cloud.url}/v2/models/${model}/stats`);
  const [stat] = ((await res.json()) as { model_stats: ModelStatistics[] }).model_stats;
  if (!stat) throw new Error(`no statistics for ${model}`);
  return {
    hits: stat.inference_stats.cache_hit.count,
    misses: stat.inference_stats.cache_miss.count,
    executions: stat.execution_count,
    successes: stat.inference_stats.success.count,
    computeInputs: stat.inference_stats.compute_input.count,
    computeOutputs: stat.inference_stats.compute_output.count,
    queues: stat.inference_stats.queue.count,
  };
}

/** What happened to `model` during `run`: counts after minus before. */
async function during(cloud: RunningCloud, model: string, run: () => Promise<unknown>): Promise<Counts> {
  const before = await counts(cloud, model);
  await run();
  const after = await counts(cloud, model);
  return {
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
    executions: after.executions - before.executions,
    successes: after.successes - before.successes,
    computeInputs: after.computeInputs - before.computeInputs,
    computeOutputs: after.computeOutputs - before.computeOutputs,
    queues: after.queues - before.queues,
  };
}

async function metric(cloud: RunningCloud, line: RegExp): Promise<number> {
  const text = await (await fetch(`${cloud.url}/metrics`)).text();
  const found = text.split('\n').find((l) => line.test(l));
  if (found === undefined) throw new Error(`no metric matching ${line}`);
  return Number(found.split(' ').at(-1));
}

describe('response cache: on for a model that enables it, on a server that has one', () => {
  beforeAll(async () => {
    on = await startCachingCloud(1);
  });
  afterAll(() => on?.stop());

  it('answers the second identical request from the cache: same outputs, its own id, no model run', async () => {
    let first: Awaited<ReturnType<typeof infer>> | undefined;
    let second: typeof first;
    const delta = await during(on, 'digits-tiny', async () => {
      first = await infer(on, 'digits-tiny', 0, { id: 'first' });
      second = await infer(on, 'digits-tiny', 0, { id: 'second' });
    });
    // Triton: a hit is a success and counts in queue, but neither a compute_input nor a compute_output.
    expect(delta).toEqual({
      hits: 1,
      misses: 1,
      executions: 1,
      successes: 2,
      computeInputs: 1,
      computeOutputs: 1,
      queues: 2,
    });
    expect(second!.logits).toEqual(first!.logits);
    expect(second!.shape).toEqual([1, 10]);
    expect((first!.header as { id: string }).id).toBe('first');
    expect((second!.header as { id: string }).id).toBe('second');

    const hits = /^fogline_response_cache_hits_total\{model="digits-tiny",version="1"\}/;
    const misses = /^fogline_response_cache_misses_total\{model="digits-tiny",version="1"\}/;
    const stats = await counts(on, 'digits-tiny');
    expect(await metric(on, hits)).toBe(stats.hits);
    expect(await metric(on, misses)).toBe(stats.misses);
    expect(await metric(on, /^fogline_response_cache_entries /)).toBeGreaterThanOrEqual(1);
    expect(await metric(on, /^fogline_response_cache_capacity_bytes /)).toBe(MIB);
  });

  it('serves a cached answer in the encoding each request asks for (the cache holds outputs)', async () => {
    const json = await infer(on, 'digits-tiny', 1);
    const delta = await during(on, 'digits-tiny', async () => {
      const { body, headers } = binaryInferRequest(digits(1, 1).images);
      const res = await fetch(`${on.url}/v2/models/digits-tiny/infer`, { method: 'POST', body, headers });
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      const binary = await logitsOf(res);
      // JSON carries the float32 values as decimals: equal after rounding back to float32.
      expect(binary.logits).toEqual(Array.from(new Float32Array(json.logits)));
    });
    expect(delta).toMatchObject({
      hits: 1,
      misses: 0,
      executions: 0,
      computeInputs: 0,
      computeOutputs: 0,
      queues: 1,
    });
  });

  it('misses on other bytes and on another shape', async () => {
    await infer(on, 'digits-tiny', 2);
    const delta = await during(on, 'digits-tiny', async () => {
      await infer(on, 'digits-tiny', 3); // other bytes
      await infer(on, 'digits-tiny', 2, { batch: 2 }); // digits 2 and 3 as one batch of 2
    });
    expect(delta).toMatchObject({ hits: 0, misses: 2, executions: 2 });
  });

  it('never caches a model whose config does not enable it', async () => {
    const delta = await during(on, 'plain', async () => {
      await infer(on, 'plain', 0);
      await infer(on, 'plain', 0);
    });
    expect(delta).toEqual({
      hits: 0,
      misses: 0,
      executions: 2,
      successes: 2,
      computeInputs: 2,
      computeOutputs: 2,
      queues: 2,
    });
  });

  it('shows response_cache in the Triton model configuration', async () => {
    const config = async (m: string) =>
      ((await (await fetch(`${on.url}/v2/models/${m}/config`)).json()) as { response_cache: unknown })
        .response_cache;
    expect(await config('digits-tiny')).toEqual({ enable: true });
    expect(await config('plain')).toEqual({ enable: false });
  });

  it("drops a version's answers when it is unloaded; a reloaded version starts empty", async () => {
    await infer(on, 'digits-tiny', 4);
    expect(await metric(on, /^fogline_response_cache_entries /)).toBeGreaterThan(0);
    const repository = (action: string) =>
      fetch(`${on.url}/v2/repository/models/digits-tiny/${action}`, { method: 'POST', body: '{}' });
    expect((await repository('unload')).status).toBe(200);
    expect(await metric(on, /^fogline_response_cache_entries /)).toBe(0);
    expect(await metric(on, /^fogline_response_cache_size_bytes /)).toBe(0);
    expect((await repository('load')).status).toBe(200);
    const delta = await during(on, 'digits-tiny', () => infer(on, 'digits-tiny', 4));
    expect(delta).toMatchObject({ hits: 0, misses: 1, executions: 1 });
  });
});

describe('response cache: off', () => {
  beforeAll(async () => {
    off = await startCachingCloud();
  });
  afterAll(() => off?.stop());

  it('is off by default, even for a model whose config enables it', async () => {
    const delta = await during(off, 'digits-tiny', async () => {
      await infer(off, 'digits-tiny', 0);
      await infer(off, 'digits-tiny', 0);
    });
    expect(delta).toEqual({
      hits: 0,
      misses: 0,
      executions: 2,
      successes: 2,
      computeInputs: 2,
      computeOutputs: 2,
      queues: 2,
    });
    expect(await metric(off, /^fogline_response_cache_capacity_bytes /)).toBe(0);
  });
});

describe('response cache: bounded by its size', () => {
  beforeAll(async () => {
    twoEntries = await startCachingCloud((2 * ENTRY_BYTES) / MIB);
  });
  afterAll(() => twoEntries?.stop());

  it('evicts the least recently used answer when a new one does not fit', async () => {
    const delta = await during(twoEntries, 'digits-tiny', async () => {
      for (const i of [0, 1, 0, 2, 0, 1]) await infer(twoEntries, 'digits-tiny', i);
    });
    // 0 miss, 1 miss, 0 hit, 2 miss (evicts 1, the least recent), 0 hit, 1 miss (evicts 2).
    expect(delta).toMatchObject({ hits: 2, misses: 4, executions: 4 });
    expect(await metric(twoEntries, /^fogline_response_cache_evictions_total /)).toBe(2);
    expect(await metric(twoEntries, /^fogline_response_cache_entries /)).toBe(2);
  });
});

/**
 * The edge's mid model behind the dynamic batcher, on the committed INT8 model in a real onnxruntime
 * worker: batching under load must keep the worker fed and give every request its own answer.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '@fogline/shared';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR, loadModelEntry } from '@fogline/shared/model-repository';
import { cachedProbe, PROBE_CACHE_FILE } from '@fogline/shared/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_DEFAULTS } from './agent-options.ts';
import { BATCHES_PER_WORKER, EdgeModel } from './edge-model.ts';

const { images, labels } = loadDigits('test');
const pixels = (i: number) => images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);
const row = (i: number): Tensor => ({
  name: 'image',
  datatype: 'FP32',
  shape: [1, 1, 28, 28],
  data: pixels(i),
});
const argmax = (v: Float32Array) => v.indexOf(Math.max(...v));

let model: EdgeModel;

beforeAll(async () => {
  const entry = await loadModelEntry(DEFAULT_MODELS_DIR, AGENT_DEFAULTS.model);
  model = await EdgeModel.load({ entry, workers: 1, intraOpThreads: 1 });
});
afterAll(async () => {
  await model?.close();
});

describe('EdgeModel', () => {
  it('sends a request that finds the worker idle at once, alone', async () => {
    const pending = model.infer(row(0));
    expect(model.batchesInFlight).toBe(1);
    expect(model.queueDepth).toBe(0);
    expect((await pending).values.length).toBe(10);
  });

  it('under a burst, hands the worker its next batch while one runs, and answers each row with its own logits', async () => {
    const n = 300;
    const alone = await Promise.all(Array.from({ length: 8 }, (_, i) => model.infer(row(i))));
    const before = model.batching;
    const answers = Array.from({ length: n }, (_, i) => model.infer(row(i)));
    // One batch went at once (worker idle); the next formed at the first preferred size and waits in
    // the worker's queue; the rest wait in the batcher for a slot.
    expect(BATCHES_PER_WORKER).toBe(2);
    expect(model.batchesInFlight).toBe(BATCHES_PER_WORKER);
    expect(model.queueDepth).toBeGreaterThan(0);
    const logits = (await Promise.all(answers)).map((a) => a.values);
    expect(model.batchesInFlight).toBe(0);
    // The counters (EdgeAgent.batching()) saw every row, in fewer batches than rows.
    const after = model.batching;
    expect(after.inferences - before.inferences).toBe(n);
    expect(after.executions - before.executions).toBeLessThan(n / 4);
    // Batched rows get the same answer as when run alone...
    for (let i = 0; i < alone.length; i++) {
      for (let k = 0; k < 10; k++) expect(logits[i]![k]).toBeCloseTo(alone[i]!.values[k]!, 4);
    }
    // ...and across the whole burst the answers are the right digits' (no row mixed up).
    const correct = logits.filter((l, i) => argmax(l) === labels[i]).length;
    expect(correct / n).toBeGreaterThan(0.95);
  });

  it('refuses an input of the wrong shape or with non-finite values, naming the problem', () => {
    const good = { name: 'image', datatype: 'FP32' as const, shape: [1, 1, 28, 28], data: pixels(0) };
    expect(model.validate({ tensors: [good] }).data).toBe(good.data);
    expect(() => model.validate({ tensors: [{ ...good, shape: [2, 1, 28, 28] }] })).toThrow(
      /has shape \[2,1,28,28\], model input "image" takes \[1,1,28,28\]/,
    );
    const bad = pixels(0);
    bad[5] = Number.NaN;
    expect(() => model.validate({ tensors: [{ ...good, data: bad }] })).toThrow(
      /element 5 is not a finite number/,
    );
  });

  it('under default sizing, loads a deployed version beside the serving one with its sizing, and both answer alike', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fogline-edge-model-'));
    try {
      const entry = await loadModelEntry(DEFAULT_MODELS_DIR, AGENT_DEFAULTS.model);
      const serving = await EdgeModel.load({ entry, workers: 2, intraOpThreads: 1 });
      // The serving model's two workers of one thread (started one at a time), and no probe runs.
      const next = await EdgeModel.load({ entry, dataDir, beside: serving });
      try {
        expect(next.sizing).toEqual({ workers: 2, intraOpThreads: 1 });
        expect(existsSync(join(dataDir, PROBE_CACHE_FILE))).toBe(false);
        const [a, b] = await Promise.all([serving.infer(row(7)), next.infer(row(7))]);
        expect(argmax(b.values)).toBe(argmax(a.values));
      } finally {
        await Promise.all([next.close(), serving.close()]);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('under probe sizing, a version loaded beside the serving one uses its own cached probe, else the serving sizing (never a probe under traffic)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fogline-edge-model-'));
    try {
      const serving = await EdgeModel.load({
        entry: await loadModelEntry(DEFAULT_MODELS_DIR, AGENT_DEFAULTS.model),
        sizing: 'probe',
        dataDir,
        workers: 2,
      });
      const cache = () => JSON.parse(readFileSync(join(dataDir, PROBE_CACHE_FILE), 'utf8'));
      expect(Object.keys(cache())).toHaveLength(1);
      const entry = await loadModelEntry(DEFAULT_MODELS_DIR, 'digits-mid');
      // Never probed on this machine: the serving model's sizing, and no probe beside it.
      const first = await EdgeModel.load({ entry, sizing: 'probe', dataDir, workers: 2, beside: serving });
      try {
        expect(Object.keys(cache())).toHaveLength(1);
        expect(first.sizing).toEqual(serving.sizing);
        expect(first.sizingLine).toMatch(
          /^digits-mid:1: edge sizing as the serving digits-mid-int8:1: 2 worker\(s\) .*no probe of this version on this machine yet/,
        );
      } finally {
        await first.close();
      }
      // Probed since (a start serving it): its own probe, from the cache, and the agent's --workers.
      await cachedProbe(dataDir, entry.modelPath(1), entry.config);
      const next = await EdgeModel.load({ entry, sizing: 'probe', dataDir, workers: 3, beside: serving });
      try {
        expect(next.sizingLine).toMatch(
          /^digits-mid:1: edge sizing from the probe: .*\(probe read from the cache, .*overridden: --workers 3/,
        );
        expect(next.sizing.workers).toBe(3);
        const [a, b] = await Promise.all([serving.infer(row(7)), next.infer(row(7))]);
        expect(argmax(b.values)).toBe(argmax(a.values));
      } finally {
        await Promise.all([next.close(), serving.close()]);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

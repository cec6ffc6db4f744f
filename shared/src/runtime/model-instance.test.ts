/**
 * The model instance both tiers serve, on the committed digits-tiny model in real onnxruntime
 * workers: requests batched together must each get their own rows, a lone request must not wait,
 * and a model it cannot serve must fail at load rather than on the first request.
 */
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIGIT_PIXELS, loadDigits } from '../digits/dataset.ts';
import { DEFAULT_MODELS_DIR, loadModelEntry, type ModelEntry } from '../model-repository/index.ts';
import type { InferItem } from './batch-runner.ts';
import { ModelInstance } from './model-instance.ts';

const { images } = loadDigits('test');
/** `batch` digits starting at `first`, as an item's bytes. */
const item = (first: number, batch: number): InferItem => {
  const rows = images.slice(first * DIGIT_PIXELS, (first + batch) * DIGIT_PIXELS);
  return { batch, inputs: [new Uint8Array(rows.buffer)] };
};

let entry: ModelEntry;
let twoPerWorker: ModelInstance;
let reference: ort.InferenceSession;

beforeAll(async () => {
  entry = await loadModelEntry(DEFAULT_MODELS_DIR, 'digits-tiny');
  twoPerWorker = await ModelInstance.load(entry, 1, { workers: 1, intraOpThreads: 1, batchesPerWorker: 2 });
  reference = await ort.InferenceSession.create(entry.modelPath(1));
});
afterAll(async () => {
  await twoPerWorker?.retire();
  await reference?.release();
});

describe('ModelInstance', () => {
  it('sends a request that finds the workers idle at once, alone', async () => {
    const pending = twoPerWorker.infer(item(0, 1));
    expect(twoPerWorker.batcher.inFlightBatches).toBe(1);
    expect(twoPerWorker.batcher.queueDepth).toBe(0);
    expect((await pending).logits!.dims).toEqual([1, 10]);
  });

  it('under a burst, hands each worker batchesPerWorker batches and gives every request its own rows', async () => {
    const sizes = Array.from({ length: 60 }, (_, i) => 1 + (i % 3));
    const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const answers = sizes.map((n, i) => twoPerWorker.infer(item(starts[i]!, n)));
    expect(twoPerWorker.batcher.inFlightBatches).toBe(2);
    expect(twoPerWorker.batcher.queueDepth).toBeGreaterThan(0);
    const results = await Promise.all(answers);
    const total = starts.at(-1)! + sizes.at(-1)!;
    const all = images.slice(0, total * DIGIT_PIXELS);
    const expected = await reference.run({ image: new ort.Tensor(all, [total, 1, 28, 28]) });
    const logits = expected.logits!.data as Float32Array;
    results.forEach((r, i) => {
      expect(r.logits!.dims).toEqual([sizes[i], 10]);
      const want = logits.subarray(starts[i]! * 10, (starts[i]! + sizes[i]!) * 10);
      const got = r.logits!.data as Float32Array;
      for (let k = 0; k < want.length; k++) expect(got[k]).toBeCloseTo(want[k]!, 4);
    });
  });

  it('keeps to one batch per worker by default', async () => {
    const one = await ModelInstance.load(entry, 1, { workers: 1, intraOpThreads: 1 });
    try {
      const answers = Array.from({ length: 20 }, (_, i) => one.infer(item(i, 1)));
      expect(one.batcher.inFlightBatches).toBe(1);
      await Promise.all(answers);
    } finally {
      await one.retire();
    }
  });

  it('finishes what it queued when retired, then refuses with UNAVAILABLE', async () => {
    const instance = await ModelInstance.load(entry, 1, { workers: 1, intraOpThreads: 1 });
    const queued = Array.from({ length: 10 }, (_, i) => instance.infer(item(i, 1)));
    const retired = instance.retire();
    await expect(instance.infer(item(0, 1))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(await Promise.all(queued)).toHaveLength(10);
    await retired;
  });

  it('refuses a model whose samples have a variable dim', async () => {
    const variable = withInputShape(entry, [-1, 1, -1, 28]);
    await expect(ModelInstance.load(variable, 1, { workers: 1 })).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });
  });

  it('fails at load, not on the first request, when config.json does not fit the model (warm-up)', async () => {
    const mismatched = withInputShape(entry, [-1, 1, 28, 29]);
    await expect(ModelInstance.load(mismatched, 1, { workers: 1, intraOpThreads: 1 })).rejects.toMatchObject({
      code: 'INTERNAL',
    });
  });
});

function withInputShape(base: ModelEntry, shape: number[]): ModelEntry {
  const input = { ...base.config.inputs[0]!, shape };
  return { ...base, config: { ...base.config, inputs: [input] } };
}

import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FoglineError } from '../core/errors.ts';
import { DIGIT_PIXELS, loadDigits } from '../digits/dataset.ts';
import { DEFAULT_MODELS_DIR } from '../model-repository/index.ts';
import { defaultEdgeEngineSizing, defaultEngineSizing } from './engine-sizing.ts';
import { createInferenceEngine, type InferenceEngine } from './inference-engine.ts';

const modelPath = `${DEFAULT_MODELS_DIR}/digits-tiny/1/model.onnx`;

describe('inference engine (worker_threads + onnxruntime-node)', () => {
  let engine: InferenceEngine;
  let reference: ort.InferenceSession;
  const { images } = loadDigits('test');
  const batch = images.slice(0, 5 * DIGIT_PIXELS);

  beforeAll(async () => {
    engine = await createInferenceEngine({ modelPath, workers: 2, intraOpThreads: 1 });
    reference = await ort.InferenceSession.create(modelPath);
  });
  afterAll(async () => {
    await engine.close();
    await reference.release();
  });

  it('answers exactly what an in-process onnxruntime session answers', async () => {
    await engine.warmup();
    expect(engine.inputNames).toEqual(['image']);
    expect(engine.outputNames).toEqual(['logits']);
    const out = await engine.run({ image: { data: batch, dims: [5, 1, 28, 28] } });
    const expected = await reference.run({ image: new ort.Tensor(batch, [5, 1, 28, 28]) });
    expect(out.logits!.dims).toEqual([5, 10]);
    expect(Array.from(out.logits!.data as Float32Array)).toEqual(
      Array.from(expected.logits!.data as Float32Array),
    );
  });

  it('serves concurrent runs on every worker and keeps the caller’s arrays unless told to transfer', async () => {
    const runs = Array.from({ length: 8 }, () =>
      engine.run({ image: { data: batch, dims: [5, 1, 28, 28] } }),
    );
    expect(engine.busy).toBe(8);
    const outs = await Promise.all(runs);
    expect(new Set(outs.map((o) => Array.from(o.logits!.data as Float32Array).join(','))).size).toBe(1);
    expect(batch.length).toBe(5 * DIGIT_PIXELS); // not detached
    const owned = batch.slice();
    await engine.run({ image: { data: owned, dims: [5, 1, 28, 28] } }, { transfer: true });
    expect(owned.length).toBe(0); // handed to the worker, not copied
  });

  it('hands a transferred input buffer back once its run has ended, for the next batch to reuse', async () => {
    const logitsOf = async (data: Float32Array, n: number) =>
      Array.from(
        (await reference.run({ image: new ort.Tensor(data, [n, 1, 28, 28]) })).logits!.data as Float32Array,
      );
    // A buffer for 8 samples, of which a first batch fills 5 and a second, reusing it, 2 others.
    const back: ArrayBuffer[] = [];
    const recycle = (b: ArrayBuffer) => back.push(b);
    const first = new Float32Array(new ArrayBuffer(8 * DIGIT_PIXELS * 4), 0, 5 * DIGIT_PIXELS);
    first.set(batch);
    const out1 = await engine.run(
      { image: { data: first, dims: [5, 1, 28, 28] } },
      { transfer: true, recycle },
    );
    expect(first.length).toBe(0); // transferred
    expect(back.map((b) => b.byteLength)).toEqual([8 * DIGIT_PIXELS * 4]);
    expect(Array.from(out1.logits!.data as Float32Array)).toEqual(await logitsOf(batch, 5));
    const others = images.slice(5 * DIGIT_PIXELS, 7 * DIGIT_PIXELS);
    const second = new Float32Array(back.pop()!, 0, 2 * DIGIT_PIXELS);
    second.set(others);
    const out2 = await engine.run(
      { image: { data: second, dims: [2, 1, 28, 28] } },
      { transfer: true, recycle },
    );
    expect(Array.from(out2.logits!.data as Float32Array)).toEqual(await logitsOf(others, 2));
    expect(back).toHaveLength(1);
  });

  it('turns an onnxruntime failure into INTERNAL and keeps serving', async () => {
    const bad = engine.run({ image: { data: new Float32Array(7), dims: [7] } });
    await expect(bad).rejects.toMatchObject({ code: 'INTERNAL' });
    const ok = await engine.run({ image: { data: batch.slice(0, DIGIT_PIXELS), dims: [1, 1, 28, 28] } });
    expect(ok.logits!.dims).toEqual([1, 10]);
  });

  it('refuses a model file it cannot load, and bad pool sizes', async () => {
    await expect(
      createInferenceEngine({ modelPath: '/nonexistent/model.onnx', workers: 1 }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });
    await expect(createInferenceEngine({ modelPath, workers: 0 })).rejects.toBeInstanceOf(FoglineError);
  });

  it('refuses runs once closed', async () => {
    const e = await createInferenceEngine({ modelPath, workers: 1, intraOpThreads: 1 });
    await e.close();
    await expect(e.run({ image: { data: batch, dims: [5, 1, 28, 28] } })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('fits its default pool to the cores', () => {
    expect(defaultEngineSizing(1)).toEqual({ workers: 1, intraOpThreads: 1 });
    for (const cores of [2, 4, 8, 16]) {
      const s = defaultEngineSizing(cores);
      expect(s.workers * s.intraOpThreads).toBeLessThanOrEqual(cores);
      expect(s.workers).toBeGreaterThanOrEqual(1);
    }
  });

  it("leaves an edge's broker a core of its own", () => {
    expect(defaultEdgeEngineSizing(1)).toEqual({ workers: 1, intraOpThreads: 1 });
    expect(defaultEdgeEngineSizing(2)).toEqual({ workers: 1, intraOpThreads: 1 });
    expect(defaultEdgeEngineSizing(4)).toEqual({ workers: 3, intraOpThreads: 1 });
    // Threads asked for: as many sessions of that size as fit beside the broker's core.
    expect(defaultEdgeEngineSizing(4, 2)).toEqual({ workers: 1, intraOpThreads: 2 });
    expect(defaultEdgeEngineSizing(8, 2)).toEqual({ workers: 3, intraOpThreads: 2 });
  });
});

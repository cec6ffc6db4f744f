import { setImmediate as loopTurn } from 'node:timers/promises';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIGIT_PIXELS, loadDigits } from '../digits/dataset.ts';
import { DEFAULT_MODELS_DIR } from '../model-repository/index.ts';
import { createInferenceEngine, type InferenceEngine, type TensorFeeds } from './inference-engine.ts';

const modelPath = `${DEFAULT_MODELS_DIR}/digits-tiny/1/model.onnx`;
const { images } = loadDigits('test');
const one = (i: number): TensorFeeds => ({
  image: { data: images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS), dims: [1, 1, 28, 28] },
});
const zeros: TensorFeeds = { image: { data: new Float32Array(DIGIT_PIXELS), dims: [1, 1, 28, 28] } };

describe('inference engine: the inline lane (inlineMaxMs)', () => {
  let engine: InferenceEngine;
  let reference: ort.InferenceSession;

  beforeAll(async () => {
    // digits-tiny runs in well under a millisecond; 1 s lets it inline even on a crowded machine.
    engine = await createInferenceEngine({ modelPath, workers: 2, intraOpThreads: 1, inlineMaxMs: 1000 });
    await engine.warmup(zeros);
    reference = await ort.InferenceSession.create(modelPath);
  });
  afterAll(async () => {
    await engine.close();
    await reference.release();
  });

  it('runs a lone single-sample run on an idle engine on this thread, with what a worker answers', async () => {
    const expected = await reference.run({ image: new ort.Tensor(one(3).image!.data, [1, 1, 28, 28]) });
    await loopTurn();
    const before = engine.inlineRuns;
    const out = await engine.run(one(3));
    expect(engine.inlineRuns).toBe(before + 1);
    expect(out.logits!.dims).toEqual([1, 10]);
    expect(Array.from(out.logits!.data as Float32Array)).toEqual(
      Array.from(expected.logits!.data as Float32Array),
    );
  });

  it('hands a transferred input buffer back after an inline run, as a worker does, so batch runners reuse it', async () => {
    const back: ArrayBuffer[] = [];
    const recycle = (b: ArrayBuffer) => back.push(b);
    const buffer = new ArrayBuffer(4 * DIGIT_PIXELS * 4); // room for 4 samples, 1 used
    for (const i of [3, 5]) {
      const data = new Float32Array(back.pop() ?? buffer, 0, DIGIT_PIXELS);
      data.set(one(i).image!.data as Float32Array);
      await loopTurn();
      const before = engine.inlineRuns;
      const out = await engine.run({ image: { data, dims: [1, 1, 28, 28] } }, { transfer: true, recycle });
      expect(engine.inlineRuns).toBe(before + 1);
      expect(back).toEqual([buffer]); // the very buffer, once
      const expected = await reference.run({ image: new ort.Tensor(one(i).image!.data, [1, 1, 28, 28]) });
      expect(Array.from(out.logits!.data as Float32Array)).toEqual(
        Array.from(expected.logits!.data as Float32Array),
      );
    }
  });

  it('sends a run asked for before the event loop went round to a worker: callers never queue on this thread', async () => {
    await loopTurn();
    const before = engine.inlineRuns;
    await engine.run(one(1)); // inline
    const next = await engine.run(one(2)); // straight after: the loop has not been quiet since
    expect(engine.inlineRuns).toBe(before + 1);
    expect(next.logits!.dims).toEqual([1, 10]);
    await loopTurn();
    await engine.run(one(2)); // quiet again: inline
    expect(engine.inlineRuns).toBe(before + 2);
  });

  it('leaves concurrent runs and multi-sample runs to the workers', async () => {
    await loopTurn();
    const before = engine.inlineRuns;
    const outs = await Promise.all([1, 2, 3, 4].map((i) => engine.run(one(i))));
    expect(engine.inlineRuns - before).toBeLessThanOrEqual(1); // only the first can find the engine idle
    expect(outs.map((o) => o.logits!.dims)).toEqual(Array(4).fill([1, 10]));
    await loopTurn();
    const five = images.slice(0, 5 * DIGIT_PIXELS);
    const before5 = engine.inlineRuns;
    await engine.run({ image: { data: five, dims: [5, 1, 28, 28] } });
    expect(engine.inlineRuns).toBe(before5);
  });

  it('keeps every run on the workers when the model costs more than inlineMaxMs, or when not asked', async () => {
    for (const inlineMaxMs of [1e-6, undefined]) {
      const e = await createInferenceEngine({ modelPath, workers: 1, intraOpThreads: 1, inlineMaxMs });
      try {
        await e.warmup(zeros);
        for (let i = 0; i < 3; i++) {
          await loopTurn();
          expect((await e.run(one(i))).logits!.dims).toEqual([1, 10]);
        }
        expect(e.inlineRuns).toBe(0);
      } finally {
        await e.close();
      }
    }
  });

  it('turns an onnxruntime failure inline into INTERNAL and keeps serving', async () => {
    await loopTurn();
    const before = engine.inlineRuns;
    await expect(engine.run({ image: { data: new Float32Array(7), dims: [1, 7] } })).rejects.toMatchObject({
      code: 'INTERNAL',
    });
    expect(engine.inlineRuns).toBe(before + 1);
    await loopTurn();
    expect((await engine.run(one(0))).logits!.dims).toEqual([1, 10]);
  });
});

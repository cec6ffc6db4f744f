/**
 * The one evaluation runs a model by its config's datatypes in real onnxruntime: a UINT8 input with
 * quantization gets the quantized prepared values, an FP16 probabilities output is decoded and
 * scored as probabilities, and accuracy and per-class numbers follow the labels.
 */
import { parseModelConfig, type TensorQuantization } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../dataset/dataset.ts';
import {
  typedClassifierClass,
  typedClassifierConfig,
  typedClassifierOnnx,
} from '../testing/typed-classifier.ts';
import { U8_PROBS_FP16 as U8 } from '../testing/typed-fixtures.ts';
import { evaluateModel } from './evaluate-model.ts';

const model = typedClassifierOnnx(U8);
const config = parseModelConfig(typedClassifierConfig(U8), 'u8/config.json', 'u8');
const FEATURES = U8.sample[0]!;
const CLASSES = U8.classes;
const expectedClass = (x: ArrayLike<number>, quantization?: TensorQuantization) =>
  typedClassifierClass(U8, x, quantization);

describe('evaluateModel', () => {
  it('feeds a UINT8 input quantized per its config and scores an FP16 probabilities output', async () => {
    const count = 40;
    const data = Float32Array.from({ length: count * FEATURES }, (_, i) => ((i * 37) % 21) - 10);
    const truth = Array.from({ length: count }, (_, i) =>
      expectedClass(data.subarray(i * FEATURES, (i + 1) * FEATURES)),
    );
    // The data tells a quantized feed from a plain rounded one: the test fails if the config is ignored.
    const plain = Array.from({ length: count }, (_, i) =>
      expectedClass(data.subarray(i * FEATURES, (i + 1) * FEATURES), { scale: 1, zero_point: 0 }),
    );
    expect(plain).not.toEqual(truth);
    // Every fourth label is wrong on purpose: accuracy 30/40.
    const labels = Uint16Array.from(truth, (t, i) => (i % 4 === 0 ? (t + 1) % CLASSES : t));
    const set: Dataset = { data, count, sampleDims: [FEATURES], labels, source: 'synthetic', skipped: [] };
    const e = await evaluateModel(model, 'u8', config, set, { batchSize: 7 });
    expect(Array.from(e.predicted)).toEqual(truth);
    expect(e.accuracy).toBe(30 / 40);
    expect(e.perClass.map((c) => c.label)).toEqual(['a', 'b', 'c']);
    expect(e.perClass.reduce((n, c) => n + c.count, 0)).toBe(count);
    for (let i = 0; i < count; i++) {
      const row = e.probabilities.subarray(i * CLASSES, (i + 1) * CLASSES);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('an output whose datatype differs from the config: one clear line', async () => {
    const wrong = parseModelConfig(
      {
        ...JSON.parse(JSON.stringify(config)),
        outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, CLASSES] }],
      },
      'u8/config.json',
      'u8',
    );
    const set: Dataset = {
      data: new Float32Array(8),
      count: 2,
      sampleDims: [FEATURES],
      source: 'zeros',
      skipped: [],
    };
    await expect(evaluateModel(model, 'u8', wrong, set)).rejects.toThrow(
      'model output "probs" holds float16 values, its config says FP32',
    );
  });
});

/**
 * The one evaluation runs a model by its config's datatypes in real onnxruntime: a UINT8 input with
 * quantization gets the quantized prepared values, an FP16 probabilities output is decoded and
 * scored as probabilities, and accuracy and per-class numbers follow the labels.
 */
import { parseModelConfig, roundHalfEven } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import type { Dataset } from '../dataset/dataset.ts';
import { encodeModel } from '../onnx/codec.ts';
import { attrInt, makeNode, tensorValueInfo } from '../onnx/graph.ts';
import { DataType } from '../onnx/ir.ts';
import { buildModel } from '../onnx/model-builder.ts';
import { floatTensor } from '../onnx/tensor.ts';
import { evaluateModel } from './evaluate-model.ts';

const FEATURES = 4;
const CLASSES = 3;
const QUANTIZATION = { scale: 0.5, zero_point: 30 };
const W = Float32Array.from({ length: CLASSES * FEATURES }, (_, i) => Math.cos(i * 0.9) * 0.05);

/** pixels UINT8 [N,4] → Cast → Gemm → Softmax → Cast FP16 → probs [N,3]. */
const model = encodeModel(
  buildModel({
    inputs: [tensorValueInfo('pixels', DataType.UINT8, ['N', FEATURES])],
    outputs: [tensorValueInfo('probs', DataType.FLOAT16, ['N', CLASSES])],
    initializers: [
      floatTensor('w', [CLASSES, FEATURES], W),
      floatTensor('b', [CLASSES], new Float32Array(CLASSES)),
    ],
    nodes: [
      makeNode('Cast', ['pixels'], ['x'], 'to-float', [attrInt('to', DataType.FLOAT)]),
      makeNode('Gemm', ['x', 'w', 'b'], ['logits'], 'gemm', [attrInt('transB', 1)]),
      makeNode('Softmax', ['logits'], ['p'], 'softmax', [attrInt('axis', 1)]),
      makeNode('Cast', ['p'], ['probs'], 'to-half', [attrInt('to', DataType.FLOAT16)]),
    ],
  }),
);

const config = parseModelConfig(
  {
    name: 'u8',
    tier: 'edge',
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    inputs: [
      {
        name: 'pixels',
        datatype: 'UINT8',
        shape: [-1, FEATURES],
        quantization: QUANTIZATION,
      },
    ],
    outputs: [{ name: 'probs', datatype: 'FP16', shape: [-1, CLASSES] }],
    output_kind: 'probabilities',
    labels: ['a', 'b', 'c'],
  },
  'u8/config.json',
  'u8',
);

/** What the model should answer for prepared values x: quantize as the config says, then the graph. */
function expectedClass(x: ArrayLike<number>, quantization = QUANTIZATION): number {
  const { scale, zero_point } = quantization;
  const q = Array.from(x, (v) => Math.min(255, Math.max(0, roundHalfEven(v / scale) + zero_point)));
  const logits = Array.from({ length: CLASSES }, (_, k) =>
    q.reduce((sum, v, j) => sum + v * W[k * FEATURES + j]!, 0),
  );
  return logits.indexOf(Math.max(...logits));
}

describe('evaluateModel', () => {
  it('feeds a UINT8 input quantized per its config and scores an FP16 probabilities output', async () => {
    const count = 40;
    const data = Float32Array.from({ length: count * FEATURES }, (_, i) => ((i * 37) % 21) - 10);
    const truth = Array.from({ length: count }, (_, i) => expectedClass(data.subarray(i * 4, i * 4 + 4)));
    // The data tells a quantized feed from a plain rounded one: the test fails if the config is ignored.
    const plain = Array.from({ length: count }, (_, i) =>
      expectedClass(data.subarray(i * 4, i * 4 + 4), { scale: 1, zero_point: 0 }),
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

/**
 * Test support: a classifier whose input is quantized UINT8 and whose output is FP16 probabilities
 * (pixels UINT8 [N,4] → Cast → Gemm → Softmax → Cast FP16 → probs [N,3]), its config, and the class
 * it must answer for prepared real values, computed here without onnxruntime.
 */
import { roundHalfEven } from '@fogline/shared';
import { attrInt, makeNode, tensorValueInfo } from '../onnx/graph.ts';
import { DataType, type OnnxModel } from '../onnx/ir.ts';
import { buildModel } from '../onnx/model-builder.ts';
import { floatTensor } from '../onnx/tensor.ts';

export const UINT8_FEATURES = 4;
export const UINT8_CLASSES = 3;
export const UINT8_QUANTIZATION = Object.freeze({ scale: 0.5, zero_point: 30 });
const W = Float32Array.from({ length: UINT8_CLASSES * UINT8_FEATURES }, (_, i) => Math.cos(i * 0.9) * 0.05);

export function uint8Classifier(): OnnxModel {
  return buildModel({
    inputs: [tensorValueInfo('pixels', DataType.UINT8, ['N', UINT8_FEATURES])],
    outputs: [tensorValueInfo('probs', DataType.FLOAT16, ['N', UINT8_CLASSES])],
    initializers: [
      floatTensor('w', [UINT8_CLASSES, UINT8_FEATURES], W),
      floatTensor('b', [UINT8_CLASSES], new Float32Array(UINT8_CLASSES)),
    ],
    nodes: [
      makeNode('Cast', ['pixels'], ['x'], 'to-float', [attrInt('to', DataType.FLOAT)]),
      makeNode('Gemm', ['x', 'w', 'b'], ['logits'], 'gemm', [attrInt('transB', 1)]),
      makeNode('Softmax', ['logits'], ['p'], 'softmax', [attrInt('axis', 1)]),
      makeNode('Cast', ['p'], ['probs'], 'to-half', [attrInt('to', DataType.FLOAT16)]),
    ],
  });
}

/** Its config.json (labels a, b, c; output_kind probabilities). */
export function uint8ClassifierConfig(name: string, tier = 'edge'): Record<string, unknown> {
  return {
    name,
    tier,
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    inputs: [
      { name: 'pixels', datatype: 'UINT8', shape: [-1, UINT8_FEATURES], quantization: UINT8_QUANTIZATION },
    ],
    outputs: [{ name: 'probs', datatype: 'FP16', shape: [-1, UINT8_CLASSES] }],
    output_kind: 'probabilities',
    labels: ['a', 'b', 'c'],
  };
}

/** The class the model answers for prepared values x fed through `quantization` (default: its config's). */
export function uint8ClassifierClass(
  x: ArrayLike<number>,
  quantization: { scale: number; zero_point: number } = UINT8_QUANTIZATION,
): number {
  const { scale, zero_point } = quantization;
  const q = Array.from(x, (v) => Math.min(255, Math.max(0, roundHalfEven(v / scale) + zero_point)));
  const logits = Array.from({ length: UINT8_CLASSES }, (_, k) =>
    q.reduce((sum, v, j) => sum + v * W[k * UINT8_FEATURES + j]!, 0),
  );
  return logits.indexOf(Math.max(...logits));
}

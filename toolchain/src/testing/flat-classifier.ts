/**
 * Test support: the simplest classifier a user might export, input → Flatten → Gemm → scores (→ Softmax), with
 * the sample shape, class count, names and the batch dim (open or fixed) chosen by the test, for
 * model-repository and `fogline init` tests.
 */
import { attrInt, makeNode, tensorValueInfo } from '../onnx/graph.ts';
import { DataType, type OnnxModel } from '../onnx/ir.ts';
import { buildModel } from '../onnx/model-builder.ts';
import { floatTensor } from '../onnx/tensor.ts';

export interface FlatClassifierShape {
  /** Input dims without the batch dim, e.g. [1, 28, 28] or [3, 32, 32]. */
  readonly sample: readonly number[];
  readonly classes: number;
  /** Declared batch dim: "N" (open, the default) or a fixed number. */
  readonly batch?: string | number;
  /** End in a Softmax, so the output holds probabilities (default: logits). */
  readonly softmax?: boolean;
}

export function flatClassifier(input: string, output: string, shape: FlatClassifierShape): OnnxModel {
  const features = shape.sample.reduce((a, b) => a * b, 1);
  const batch = shape.batch ?? 'N';
  const weights = Float32Array.from({ length: shape.classes * features }, (_, i) => Math.sin(i * 0.37) * 0.1);
  const bias = Float32Array.from({ length: shape.classes }, (_, k) => k * 0.01);
  return buildModel({
    inputs: [tensorValueInfo(input, DataType.FLOAT, [batch, ...shape.sample])],
    outputs: [tensorValueInfo(output, DataType.FLOAT, [batch, shape.classes])],
    initializers: [
      floatTensor('w', [shape.classes, features], weights),
      floatTensor('b', [shape.classes], bias),
    ],
    nodes: [
      makeNode('Flatten', [input], ['flat'], 'flatten'),
      makeNode('Gemm', ['flat', 'w', 'b'], [shape.softmax ? 'scores' : output], 'gemm', [
        attrInt('transB', 1),
      ]),
      ...(shape.softmax ? [makeNode('Softmax', ['scores'], [output], 'softmax', [attrInt('axis', -1)])] : []),
    ],
  });
}

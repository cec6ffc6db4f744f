/**
 * Test support: a small classifier of the kind a user brings to `fogline quantize`,
 * [N,1,8,8] → Conv (4 channels, 3×3, same padding) → Relu → MaxPool 2×2 → Flatten → Gemm → [N,5].
 */
import { attrInt, attrInts, makeNode, tensorValueInfo } from '../onnx/graph.ts';
import { DataType, type OnnxModel } from '../onnx/ir.ts';
import { buildModel } from '../onnx/model-builder.ts';
import { floatTensor } from '../onnx/tensor.ts';

export interface SmallCnnWeights {
  /** [4,1,3,3]: 36 values. */
  conv: Float32Array;
  /** [4]. */
  convBias: Float32Array;
  /** [5,64] (transB): 320 values. */
  gemm: Float32Array;
  /** [5]. */
  gemmBias: Float32Array;
}

export function smallCnn(input: string, output: string, weights: SmallCnnWeights): OnnxModel {
  return buildModel({
    inputs: [tensorValueInfo(input, DataType.FLOAT, ['N', 1, 8, 8])],
    outputs: [tensorValueInfo(output, DataType.FLOAT, ['N', 5])],
    initializers: [
      floatTensor('cw', [4, 1, 3, 3], weights.conv),
      floatTensor('cb', [4], weights.convBias),
      floatTensor('gw', [5, 64], weights.gemm),
      floatTensor('gb', [5], weights.gemmBias),
    ],
    nodes: [
      makeNode('Conv', [input, 'cw', 'cb'], ['c'], 'conv', [attrInts('pads', [1, 1, 1, 1])]),
      makeNode('Relu', ['c'], ['r'], 'relu'),
      makeNode('MaxPool', ['r'], ['p'], 'pool', [
        attrInts('kernel_shape', [2, 2]),
        attrInts('strides', [2, 2]),
      ]),
      makeNode('Flatten', ['p'], ['f'], 'flatten'),
      makeNode('Gemm', ['f', 'gw', 'gb'], [output], 'gemm', [attrInt('transB', 1)]),
    ],
  });
}

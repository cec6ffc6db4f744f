/** Assembles a ModelProto from parts: for hand-built graphs in tests and for small tools. */
import type { OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from './ir.ts';

export interface ModelParts {
  readonly inputs: OnnxValueInfo[];
  readonly outputs: OnnxValueInfo[];
  readonly nodes: OnnxNode[];
  readonly initializers?: OnnxTensor[];
  /** ai.onnx opset version (default 17). */
  readonly opset?: number;
  readonly name?: string;
}

/** IR version 8 (onnx 1.10+), readable by every onnxruntime ≥ 1.10. */
export function buildModel(parts: ModelParts): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: parts.opset ?? 17 }],
    producerName: 'fogline',
    graph: {
      name: parts.name ?? 'graph',
      node: parts.nodes,
      initializer: parts.initializers ?? [],
      input: parts.inputs,
      output: parts.outputs,
    },
  };
}

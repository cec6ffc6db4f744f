/**
 * Test support: small classifiers whose tensors are any of the fabric's datatypes, built with the
 * toolchain's ONNX builder, and a model repository of them: input (FP32, FP16, UINT8/INT8 quantized)
 * → real values → Flatten → Gemm → logits, optionally Softmax → probabilities, then written as the
 * output's datatype (FP32, FP16, UINT8/INT8 quantized). Each model's config.json says exactly that,
 * so the repository loader's signature check passes, and `run` runs the file in onnxruntime directly.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORT_TYPE_OF, type OutputKind, type TensorDatatype, type TensorQuantization } from '@fogline/shared';
import {
  attrInt,
  buildModel,
  DataType,
  encodeModel,
  floatTensor,
  makeNode,
  type OnnxNode,
  type OnnxTensor,
  tensorValueInfo,
} from '@fogline/toolchain';
import * as ort from 'onnxruntime-node';
import { int8Tensor, uint8Tensor } from '../../toolchain/src/onnx/tensor.ts';

export interface TypedTensor {
  readonly name: string;
  readonly datatype: TensorDatatype;
  readonly quantization?: TensorQuantization;
}

export interface TypedClassifier {
  readonly name: string;
  readonly tier: 'device' | 'edge' | 'cloud';
  readonly input: TypedTensor;
  readonly output: TypedTensor;
  readonly outputKind: OutputKind;
  /** Sample dims without the batch dim. */
  readonly sample: readonly number[];
  readonly labels: readonly string[];
  /** Varies the weights, so the tiers' models differ. */
  readonly seed: number;
}

/** The ONNX TensorProto element type of each config datatype (graph building only). */
const ONNX_TYPE: Record<TensorDatatype, number> = {
  FP32: DataType.FLOAT,
  FP16: DataType.FLOAT16,
  UINT8: DataType.UINT8,
  INT8: DataType.INT8,
};

function zeroPoint(name: string, t: TypedTensor): OnnxTensor {
  const zp = t.quantization?.zero_point ?? 0;
  return t.datatype === 'UINT8'
    ? uint8Tensor(name, [], Uint8Array.of(zp))
    : int8Tensor(name, [], Int8Array.of(zp));
}

export function typedClassifierOnnx(m: TypedClassifier): Uint8Array {
  const features = m.sample.reduce((a, b) => a * b, 1);
  const classes = m.labels.length;
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const { input, output } = m;
  // Input → real values.
  if (input.datatype === 'FP32') nodes.push(makeNode('Identity', [input.name], ['real_in'], 'in'));
  else if (input.quantization) {
    inits.push(
      floatTensor('in_scale', [], Float32Array.of(input.quantization.scale)),
      zeroPoint('in_zp', input),
    );
    nodes.push(makeNode('DequantizeLinear', [input.name, 'in_scale', 'in_zp'], ['real_in'], 'in'));
  } else nodes.push(makeNode('Cast', [input.name], ['real_in'], 'in', [attrInt('to', DataType.FLOAT)]));
  const weights = Float32Array.from(
    { length: classes * features },
    (_, i) => Math.sin(i * 0.37 + m.seed) * 0.05 + Math.cos(i * 0.011 * (m.seed + 1)) * 0.02,
  );
  inits.push(
    floatTensor('w', [classes, features], weights),
    floatTensor(
      'b',
      [classes],
      Float32Array.from({ length: classes }, (_, k) => (k - classes / 2) * 0.03),
    ),
  );
  nodes.push(
    makeNode('Flatten', ['real_in'], ['flat'], 'flatten'),
    makeNode('Gemm', ['flat', 'w', 'b'], ['real_logits'], 'gemm', [attrInt('transB', 1)]),
  );
  let y = 'real_logits';
  if (m.outputKind === 'probabilities') {
    nodes.push(makeNode('Softmax', ['real_logits'], ['real_probs'], 'softmax', [attrInt('axis', 1)]));
    y = 'real_probs';
  }
  // Real values → the output's datatype.
  if (output.datatype === 'FP32') nodes.push(makeNode('Identity', [y], [output.name], 'out'));
  else if (output.datatype === 'FP16') {
    nodes.push(makeNode('Cast', [y], [output.name], 'out', [attrInt('to', DataType.FLOAT16)]));
  } else {
    const q = output.quantization ?? { scale: 1, zero_point: 0 };
    inits.push(floatTensor('out_scale', [], Float32Array.of(q.scale)), zeroPoint('out_zp', output));
    nodes.push(makeNode('QuantizeLinear', [y, 'out_scale', 'out_zp'], [output.name], 'out'));
  }
  return encodeModel(
    buildModel({
      inputs: [tensorValueInfo(input.name, ONNX_TYPE[input.datatype], ['N', ...m.sample])],
      outputs: [tensorValueInfo(output.name, ONNX_TYPE[output.datatype], ['N', classes])],
      initializers: inits,
      nodes,
    }),
  );
}

export function typedClassifierConfig(m: TypedClassifier) {
  const tensor = (t: TypedTensor, shape: number[]) => ({
    name: t.name,
    datatype: t.datatype,
    shape,
    ...(t.quantization && { quantization: t.quantization }),
  });
  return {
    name: m.name,
    tier: m.tier,
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    inputs: [tensor(m.input, [-1, ...m.sample])],
    outputs: [tensor(m.output, [-1, m.labels.length])],
    output_kind: m.outputKind,
    dynamic_batching: { max_queue_delay_ms: 1 },
    routing: { score: 'maxprob', threshold: null },
    labels: m.labels,
  };
}

/** A model repository holding `models` (version 1 each); returns its directory. */
export function typedRepository(models: readonly TypedClassifier[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'fogline-typed-'));
  for (const m of models) {
    mkdirSync(join(dir, m.name, '1'), { recursive: true });
    writeFileSync(join(dir, m.name, 'config.json'), JSON.stringify(typedClassifierConfig(m), null, 2));
    writeFileSync(join(dir, m.name, '1', 'model.onnx'), typedClassifierOnnx(m));
  }
  return dir;
}

/**
 * `m`'s first output for one input straight from onnxruntime: the raw tensor data (FP16 as half bits),
 * for comparison with what the tiers answer.
 */
export async function runDirectly(dir: string, m: TypedClassifier, data: ort.Tensor['data']) {
  const session = await ort.InferenceSession.create(join(dir, m.name, '1', 'model.onnx'));
  try {
    const feed = new ort.Tensor(ORT_TYPE_OF[m.input.datatype], data as never, [1, ...m.sample]);
    const out = await session.run({ [m.input.name]: feed });
    return out[m.output.name]!.data;
  } finally {
    await session.release();
  }
}

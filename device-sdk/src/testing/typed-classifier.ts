/**
 * Test support: small classifiers whose input and output are any config datatype (FP32, FP16,
 * UINT8/INT8 quantized), optionally ending in Softmax (`output_kind: probabilities`), written as a
 * model repository entry (`<root>/<name>/config.json`, `<root>/<name>/1/model.onnx`), for the SDK's
 * tests of models other than digits. Built with the toolchain's ONNX builder:
 *   x ─(DequantizeLinear | Cast to float)→ Flatten → Gemm [→ Softmax] ─(QuantizeLinear | Cast)→ y
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutputKind, TensorDatatype, TensorQuantization } from '@fogline/shared';
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

export interface TypedTensor {
  readonly name: string;
  readonly datatype: TensorDatatype;
  /** For UINT8/INT8: real = scale × (q − zero_point). */
  readonly quantization?: TensorQuantization;
}

export interface TypedClassifierSpec {
  /** Model name: the repository directory. */
  readonly name: string;
  readonly input: TypedTensor;
  readonly output: TypedTensor;
  /** Input dims without the batch dim, e.g. [3, 8, 8]. */
  readonly sample: readonly number[];
  readonly classes: number;
  /** 'probabilities' ends the graph in Softmax. Default 'logits'. */
  readonly outputKind?: OutputKind;
  /** config.json fields written as given (labels, preprocessing, routing, ...). */
  readonly extraConfig?: Record<string, unknown>;
}

const ELEMENT_TYPE: Record<TensorDatatype, number> = {
  FP32: DataType.FLOAT,
  FP16: DataType.FLOAT16,
  UINT8: DataType.UINT8,
  INT8: DataType.INT8,
};

/** A scalar integer zero point, as QuantizeLinear/DequantizeLinear take it. */
function zeroPoint(name: string, datatype: TensorDatatype, value: number): OnnxTensor {
  const bytes = datatype === 'INT8' ? new Uint8Array(Int8Array.of(value).buffer) : Uint8Array.of(value);
  return { name, dataType: ELEMENT_TYPE[datatype], dims: [], rawData: bytes };
}

function isInteger(t: TypedTensor): boolean {
  return t.datatype === 'UINT8' || t.datatype === 'INT8';
}

const weight = (i: number) => Math.sin(i * 0.37) * 0.1;
const bias = (k: number) => k * 0.01;

/**
 * What the graph computes from the real values of one input, before the output's own encoding:
 * Gemm (+ Softmax), in double precision. The reference the tests hold the runtimes to.
 */
export function typedClassifierReference(spec: TypedClassifierSpec, real: ArrayLike<number>): Float64Array {
  const z = new Float64Array(spec.classes);
  for (let k = 0; k < spec.classes; k++) {
    let sum = bias(k);
    for (let f = 0; f < real.length; f++) sum += real[f]! * weight(k * real.length + f);
    z[k] = sum;
  }
  if (spec.outputKind !== 'probabilities') return z;
  const max = Math.max(...z);
  const exp = z.map((v) => Math.exp(v - max));
  const total = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / total);
}

export function typedClassifierOnnx(spec: TypedClassifierSpec): Uint8Array {
  const features = spec.sample.reduce((a, b) => a * b, 1);
  const { input, output, classes } = spec;
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [
    floatTensor(
      'w',
      [classes, features],
      Float32Array.from({ length: classes * features }, (_, i) => weight(i)),
    ),
    floatTensor(
      'b',
      [classes],
      Float32Array.from({ length: classes }, (_, k) => bias(k)),
    ),
  ];
  let x = input.name;
  if (isInteger(input)) {
    const q = input.quantization ?? { scale: 1, zero_point: 0 };
    initializers.push(floatTensor('in_scale', [], Float32Array.of(q.scale)));
    initializers.push(zeroPoint('in_zp', input.datatype, q.zero_point));
    nodes.push(makeNode('DequantizeLinear', [x, 'in_scale', 'in_zp'], ['x_real'], 'dequantize'));
    x = 'x_real';
  } else if (input.datatype === 'FP16') {
    nodes.push(makeNode('Cast', [x], ['x_real'], 'cast_in', [attrInt('to', DataType.FLOAT)]));
    x = 'x_real';
  }
  nodes.push(makeNode('Flatten', [x], ['flat'], 'flatten'));
  nodes.push(makeNode('Gemm', ['flat', 'w', 'b'], ['z'], 'gemm', [attrInt('transB', 1)]));
  let y = 'z';
  if (spec.outputKind === 'probabilities') {
    nodes.push(makeNode('Softmax', [y], ['p'], 'softmax', [attrInt('axis', -1)]));
    y = 'p';
  }
  if (isInteger(output)) {
    const q = output.quantization ?? { scale: 1, zero_point: 0 };
    initializers.push(floatTensor('out_scale', [], Float32Array.of(q.scale)));
    initializers.push(zeroPoint('out_zp', output.datatype, q.zero_point));
    nodes.push(makeNode('QuantizeLinear', [y, 'out_scale', 'out_zp'], [output.name], 'quantize'));
  } else if (output.datatype === 'FP16') {
    nodes.push(makeNode('Cast', [y], [output.name], 'cast_out', [attrInt('to', DataType.FLOAT16)]));
  } else {
    nodes.push(makeNode('Identity', [y], [output.name], 'out'));
  }
  return encodeModel(
    buildModel({
      inputs: [tensorValueInfo(input.name, ELEMENT_TYPE[input.datatype], ['N', ...spec.sample])],
      outputs: [tensorValueInfo(output.name, ELEMENT_TYPE[output.datatype], ['N', classes])],
      initializers,
      nodes,
    }),
  );
}

/** The config.json of the model, as a repository would hold it. */
export function typedClassifierConfig(spec: TypedClassifierSpec): Record<string, unknown> {
  const tensor = (t: TypedTensor, shape: number[]) => ({
    name: t.name,
    datatype: t.datatype,
    shape,
    ...(t.quantization && { quantization: t.quantization }),
  });
  return {
    name: spec.name,
    tier: 'device',
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    inputs: [tensor(spec.input, [-1, ...spec.sample])],
    outputs: [tensor(spec.output, [-1, spec.classes])],
    output_kind: spec.outputKind ?? 'logits',
    ...spec.extraConfig,
  };
}

/** Writes `<root>/<name>/config.json` and `<root>/<name>/1/model.onnx`; returns the model's path. */
export async function writeTypedClassifier(
  root: string,
  spec: TypedClassifierSpec,
  config: Record<string, unknown> | undefined = typedClassifierConfig(spec),
): Promise<string> {
  const dir = join(root, spec.name);
  await mkdir(join(dir, '1'), { recursive: true });
  if (config) await writeFile(join(dir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const model = join(dir, '1', 'model.onnx');
  await writeFile(model, typedClassifierOnnx(spec));
  return model;
}

/** UINT8 `pixels` [N,3,8,8] (quantized), UINT8 `scores` (quantized logits), 4 labels, RGB mean/std. */
export const PIXELS_UINT8: TypedClassifierSpec = Object.freeze<TypedClassifierSpec>({
  name: 'shapes-u8',
  input: { name: 'pixels', datatype: 'UINT8', quantization: { scale: 1 / 64, zero_point: 128 } },
  output: { name: 'scores', datatype: 'UINT8', quantization: { scale: 0.05, zero_point: 128 } },
  sample: [3, 8, 8],
  classes: 4,
  extraConfig: {
    labels: ['circle', 'square', 'triangle', 'star'],
    preprocessing: { layout: 'NCHW', channel_order: 'RGB', mean: [0.5], std: [0.25] },
  },
});

/** FP16 `x` [N,1,6,6] → FP16 `y`, 3 labels. */
export const HALF_FP16: TypedClassifierSpec = Object.freeze<TypedClassifierSpec>({
  name: 'half-fp16',
  input: { name: 'x', datatype: 'FP16' },
  output: { name: 'y', datatype: 'FP16' },
  sample: [1, 6, 6],
  classes: 3,
  extraConfig: { labels: ['low', 'mid', 'high'] },
});

/** FP32 `features` [N,2,4,4] → Softmax → `probs` (output_kind probabilities), no labels. */
export const PROBS_FP32: TypedClassifierSpec = Object.freeze<TypedClassifierSpec>({
  name: 'probs-fp32',
  input: { name: 'features', datatype: 'FP32' },
  output: { name: 'probs', datatype: 'FP32' },
  sample: [2, 4, 4],
  classes: 5,
  outputKind: 'probabilities',
});

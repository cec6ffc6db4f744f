/**
 * Test support: small classifiers whose tensors are any config datatype, built with the toolchain's
 * ONNX builder, with the config.json a repository holds for them, the answer they must give
 * (computed here in double precision, without onnxruntime) and onnxruntime's own answer:
 *   x ─(DequantizeLinear | Cast to float)→ Flatten → Gemm [→ Softmax] ─(QuantizeLinear | Cast)→ y
 * FP32 tensors get no conversion node, so an FP32 → FP32 model is the plain Flatten → Gemm a user
 * exports (`flatClassifier`). The one home for these models: the toolchain's, SDK's and fabric's
 * tests all build them here.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  argmax,
  ORT_TYPE_OF,
  type OutputKind,
  type TensorData,
  type TensorDatatype,
  type TensorQuantization,
  type Tier,
  toRealValues,
  toTensorData,
} from '@fogline/shared';
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx/codec.ts';
import { attrInt, makeNode, tensorValueInfo } from '../onnx/graph.ts';
import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/ir.ts';
import { buildModel } from '../onnx/model-builder.ts';
import { floatTensor, int8Tensor, uint8Tensor } from '../onnx/tensor.ts';

export interface TypedTensor {
  readonly name: string;
  readonly datatype: TensorDatatype;
  /** For UINT8/INT8: real = scale × (q − zero_point); absent: scale 1, zero point 0. */
  readonly quantization?: TensorQuantization;
}

export interface TypedClassifier {
  /** Model name: the repository directory. */
  readonly name: string;
  /** The config's tier; default 'device'. */
  readonly tier?: Tier;
  readonly input: TypedTensor;
  readonly output: TypedTensor;
  /** Input dims without the batch dim, e.g. [3, 8, 8]. */
  readonly sample: readonly number[];
  readonly classes: number;
  /** Written to the config when given (as many as `classes`). */
  readonly labels?: readonly string[];
  /** 'probabilities' ends the graph in Softmax. Default 'logits'. */
  readonly outputKind?: OutputKind;
  /** Varies the weights, so models of one shape (a cascade's tiers) differ. Default 0. */
  readonly seed?: number;
  /** Declared batch dim: "N" (open, the default) or a fixed number. */
  readonly batch?: string | number;
  /** config.json fields written over the defaults (preprocessing, routing, max_batch_size, ...). */
  readonly extraConfig?: Record<string, unknown>;
}

const ELEMENT_TYPE: Record<TensorDatatype, number> = {
  FP32: DataType.FLOAT,
  FP16: DataType.FLOAT16,
  UINT8: DataType.UINT8,
  INT8: DataType.INT8,
};

const weight = (i: number, seed: number) => Math.sin(i * 0.37 + seed) * 0.1;
const bias = (k: number) => k * 0.01;

/** The scale and scalar zero point QuantizeLinear/DequantizeLinear take for an integer tensor. */
function quantizationInputs(prefix: string, t: TypedTensor): OnnxTensor[] {
  const q = t.quantization ?? { scale: 1, zero_point: 0 };
  return [
    floatTensor(`${prefix}_scale`, [], Float32Array.of(q.scale)),
    t.datatype === 'UINT8'
      ? uint8Tensor(`${prefix}_zp`, [], Uint8Array.of(q.zero_point))
      : int8Tensor(`${prefix}_zp`, [], Int8Array.of(q.zero_point)),
  ];
}

const isInteger = (t: TypedTensor) => t.datatype === 'UINT8' || t.datatype === 'INT8';

export function typedClassifierModel(spec: TypedClassifier): OnnxModel {
  const { input, output, classes } = spec;
  const features = spec.sample.reduce((a, b) => a * b, 1);
  const seed = spec.seed ?? 0;
  const initializers = [
    floatTensor(
      'w',
      [classes, features],
      Float32Array.from({ length: classes * features }, (_, i) => weight(i, seed)),
    ),
    floatTensor(
      'b',
      [classes],
      Float32Array.from({ length: classes }, (_, k) => bias(k)),
    ),
  ];
  const nodes: OnnxNode[] = [];
  let x = input.name;
  if (isInteger(input)) {
    initializers.push(...quantizationInputs('in', input));
    nodes.push(makeNode('DequantizeLinear', [x, 'in_scale', 'in_zp'], ['x_real'], 'dequantize'));
    x = 'x_real';
  } else if (input.datatype === 'FP16') {
    nodes.push(makeNode('Cast', [x], ['x_real'], 'cast_in', [attrInt('to', DataType.FLOAT)]));
    x = 'x_real';
  }
  const softmax = spec.outputKind === 'probabilities';
  // FP32 outputs come straight from the last node; other datatypes are encoded after it.
  const real = output.datatype === 'FP32' ? output.name : 'y_real';
  nodes.push(makeNode('Flatten', [x], ['flat'], 'flatten'));
  nodes.push(makeNode('Gemm', ['flat', 'w', 'b'], [softmax ? 'z' : real], 'gemm', [attrInt('transB', 1)]));
  if (softmax) nodes.push(makeNode('Softmax', ['z'], [real], 'softmax', [attrInt('axis', -1)]));
  if (isInteger(output)) {
    initializers.push(...quantizationInputs('out', output));
    nodes.push(makeNode('QuantizeLinear', [real, 'out_scale', 'out_zp'], [output.name], 'quantize'));
  } else if (output.datatype === 'FP16') {
    nodes.push(makeNode('Cast', [real], [output.name], 'cast_out', [attrInt('to', DataType.FLOAT16)]));
  }
  const batch = spec.batch ?? 'N';
  return buildModel({
    inputs: [tensorValueInfo(input.name, ELEMENT_TYPE[input.datatype], [batch, ...spec.sample])],
    outputs: [tensorValueInfo(output.name, ELEMENT_TYPE[output.datatype], [batch, classes])],
    initializers,
    nodes,
  });
}

export const typedClassifierOnnx = (spec: TypedClassifier): Uint8Array =>
  encodeModel(typedClassifierModel(spec));

/**
 * The simplest classifier a user exports: FP32 `input` → Flatten → Gemm → `output` (→ Softmax when
 * `softmax`), model only, for `fogline init` and `models check` tests.
 */
export function flatClassifier(
  input: string,
  output: string,
  shape: { sample: readonly number[]; classes: number; batch?: string | number; softmax?: boolean },
): OnnxModel {
  return typedClassifierModel({
    name: 'flat',
    input: { name: input, datatype: 'FP32' },
    output: { name: output, datatype: 'FP32' },
    sample: shape.sample,
    classes: shape.classes,
    batch: shape.batch,
    outputKind: shape.softmax ? 'probabilities' : 'logits',
  });
}

/** The config.json of the model, as a repository holds it (serving tiers batch within 1 ms). */
export function typedClassifierConfig(spec: TypedClassifier): Record<string, unknown> {
  const tensor = (t: TypedTensor, shape: number[]) => ({
    name: t.name,
    datatype: t.datatype,
    shape,
    ...(t.quantization && { quantization: t.quantization }),
  });
  return {
    name: spec.name,
    tier: spec.tier ?? 'device',
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    dynamic_batching: { max_queue_delay_ms: 1 },
    inputs: [tensor(spec.input, [-1, ...spec.sample])],
    outputs: [tensor(spec.output, [-1, spec.classes])],
    output_kind: spec.outputKind ?? 'logits',
    ...(spec.labels && { labels: spec.labels }),
    ...spec.extraConfig,
  };
}

/**
 * What the graph computes from the real values of one input (after its own decoding), before the
 * output's encoding: Gemm (+ Softmax), in double precision. The reference tests hold runtimes to.
 */
export function typedClassifierReference(spec: TypedClassifier, real: ArrayLike<number>): Float64Array {
  const seed = spec.seed ?? 0;
  const z = Float64Array.from({ length: spec.classes }, (_, k) => {
    let sum = bias(k);
    for (let f = 0; f < real.length; f++) sum += real[f]! * weight(k * real.length + f, seed);
    return sum;
  });
  if (spec.outputKind !== 'probabilities') return z;
  const exp = z.map((v) => Math.exp(v - Math.max(...z)));
  const total = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / total);
}

/**
 * The class the model answers for prepared values fed as its input datatype, quantized with
 * `quantization` (default: the input's own; another one shows whether a feed honours the config).
 */
export function typedClassifierClass(
  spec: TypedClassifier,
  prepared: ArrayLike<number>,
  quantization: TensorQuantization | undefined = spec.input.quantization,
): number {
  const fed = toTensorData(prepared, { datatype: spec.input.datatype, quantization });
  return argmax(typedClassifierReference(spec, toRealValues(fed, spec.input)));
}

/** Writes `<root>/<name>/config.json` and `<root>/<name>/1/model.onnx`; returns the model's path. */
export function writeTypedClassifier(root: string, spec: TypedClassifier): string {
  const dir = join(root, spec.name);
  mkdirSync(join(dir, '1'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(typedClassifierConfig(spec), null, 2)}\n`);
  const model = join(dir, '1', 'model.onnx');
  writeFileSync(model, typedClassifierOnnx(spec));
  return model;
}

/** A model repository holding `models` (version 1 each), in `dir` (default: a new temporary one). */
export function typedRepository(
  models: readonly TypedClassifier[],
  dir = mkdtempSync(join(tmpdir(), 'fogline-typed-')),
): string {
  for (const m of models) writeTypedClassifier(dir, m);
  return dir;
}

/** `spec`'s output for one input in `<root>/<name>/1/model.onnx`, straight from onnxruntime (FP16 as half bits). */
export async function runTypedClassifier(
  root: string,
  spec: TypedClassifier,
  data: TensorData,
): Promise<TensorData> {
  const session = await ort.InferenceSession.create(join(root, spec.name, '1', 'model.onnx'));
  try {
    const feed = new ort.Tensor(ORT_TYPE_OF[spec.input.datatype], data as Float32Array, [1, ...spec.sample]);
    return (await session.run({ [spec.input.name]: feed }))[spec.output.name]!.data as TensorData;
  } finally {
    await session.release();
  }
}

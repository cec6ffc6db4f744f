/**
 * Static quantization in QDQ form, the form onnxruntime's QDQ transformers fuse into integer
 * kernels (DQ→Conv→Q ⇒ QLinearConv, DQ→MatMul→Q ⇒ QLinearMatMul, DQ→Gemm(→Q) ⇒ QGemm,
 * DQ→MaxPool/Reshape/…→Q with equal parameters ⇒ the op on uint8):
 * - weights: int8 initializer → DequantizeLinear (per channel along the output-channel axis);
 * - bias: int32 initializer, scale = input_scale × weight_scale, zero point 0 → DequantizeLinear;
 * - activations: QuantizeLinear → DequantizeLinear pairs (uint8, calibrated range) on each target's
 *   input and output. A Relu that is a target's only consumer is quantized after, so onnxruntime
 *   drops it as redundant (its zero point is 0); pass-through ops reuse their input's parameters.
 */
import { FoglineError } from '@fogline/shared';
import { attrFloat, attrInt, getAttr, graphOf, sortTopologically, valueUses } from '../onnx/graph.ts';
import { GraphEditor } from '../onnx/graph-editor.ts';
import type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxTensor } from '../onnx/ir.ts';
import { floatTensor, int8Tensor, int32Tensor, readFloats, uint8Tensor } from '../onnx/tensor.ts';
import { activationParams, type QuantParams, quantizeBias, quantizeWeights } from './quant-params.ts';
import type { TensorRange } from './range-observer.ts';
import type { QuantTarget } from './targets.ts';

/** Ops whose output values are a subset of their input's: they keep the input's quantization. */
const PASSTHROUGH_OPS = new Set([
  'MaxPool',
  'Reshape',
  'Flatten',
  'Transpose',
  'Squeeze',
  'Unsqueeze',
  'Identity',
]);

export interface WeightOptions {
  /** Per-channel weight scales (needs opset ≥ 13) or one scale per tensor. */
  readonly perChannel: boolean;
  /** 7-bit weights (±63), for x86 CPUs without VNNI where u8×s8 pair sums can saturate. */
  readonly reduceRange: boolean;
}

export interface StaticQdqStats {
  readonly activations: number;
  readonly weights: number;
  readonly biases: number;
  /** Bias values clamped to the int32 range (their float value is then not exact). */
  readonly saturatedBiasValues: number;
}

function graphOutputs(graph: OnnxGraph): Set<string> {
  return new Set((graph.output ?? []).map((o) => o.name ?? ''));
}

/** The tensor after a target that gets a Q node: its output, or a sole Relu consumer's output. */
function quantizedOutput(graph: OnnxGraph, target: QuantTarget): string | undefined {
  const out = target.node.output?.[0];
  if (!out) return undefined;
  const outputs = graphOutputs(graph);
  const consumers = valueUses(graph).consumers.get(out) ?? [];
  const [only] = consumers;
  const tensor =
    consumers.length === 1 && only?.opType === 'Relu' && !outputs.has(out) ? only.output?.[0] : out;
  return tensor && !outputs.has(tensor) ? tensor : undefined;
}

/** Every activation whose range calibration must measure. */
export function activationsToCalibrate(model: OnnxModel, targets: readonly QuantTarget[]): string[] {
  const graph = graphOf(model);
  const names = new Set<string>();
  for (const t of targets) {
    if (t.node.input?.[0]) names.add(t.node.input[0]);
    const out = quantizedOutput(graph, t);
    if (out) names.add(out);
  }
  return [...names];
}

function propagateThroughPassthrough(graph: OnnxGraph, params: Map<string, QuantParams>): void {
  const outputs = graphOutputs(graph);
  for (const node of graph.node ?? []) {
    const [input] = node.input ?? [];
    const [output] = node.output ?? [];
    const p = input ? params.get(input) : undefined;
    if (p && output && !outputs.has(output) && PASSTHROUGH_OPS.has(node.opType ?? '') && !node.domain) {
      params.set(output, p);
    }
  }
}

/**
 * Stores a quantized constant as initializers (values, scale, zero point, in that order) and adds the
 * DequantizeLinear that reads them; returns the name of its float output.
 */
function addDequantizedConstant(
  editor: GraphEditor,
  base: string,
  [values, scale, zeroPoint]: readonly [OnnxTensor, OnnxTensor, OnnxTensor],
  attributes: OnnxAttribute[],
): string {
  const inputs = [values, scale, zeroPoint].map((tensor) => editor.addInitializer(tensor));
  const [output] = editor.addNode(
    'DequantizeLinear',
    inputs,
    [`${base}_dequantized`],
    `${base}_DequantizeLinear`,
    attributes,
  );
  return output!;
}

function quantizeTargetWeights(
  editor: GraphEditor,
  t: QuantTarget,
  inputScale: number,
  options: WeightOptions,
): number {
  const dims = t.weight.dims ?? [];
  const axis = options.perChannel ? t.channelAxis : undefined;
  const q = quantizeWeights(readFloats(t.weight), dims, axis, options.reduceRange ? 63 : 127);
  const channels = q.scales.length;
  const paramDims = axis === undefined ? [] : [channels];
  const axisAttr = axis === undefined ? [] : [attrInt('axis', axis)];
  const base = t.weight.name ?? 'weight';
  t.node.input![1] = addDequantizedConstant(
    editor,
    base,
    [
      int8Tensor(`${base}_quantized`, dims, q.values),
      floatTensor(`${base}_scale`, paramDims, q.scales),
      int8Tensor(`${base}_zero_point`, paramDims, new Int8Array(channels)),
    ],
    axisAttr,
  );
  if (!t.bias) return 0;

  const b = quantizeBias(readFloats(t.bias), inputScale, q.scales);
  const bBase = t.bias.name ?? 'bias';
  t.node.input![2] = addDequantizedConstant(
    editor,
    bBase,
    [
      int32Tensor(`${bBase}_quantized`, t.bias.dims ?? [], b.values),
      floatTensor(`${bBase}_scale`, paramDims, axis === undefined ? b.scales.subarray(0, 1) : b.scales),
      int32Tensor(`${bBase}_zero_point`, paramDims, new Int32Array(channels)),
    ],
    axis === undefined ? [] : [attrInt('axis', 0)],
  );
  // onnxruntime's Gemm QDQ selector reads the beta attribute when a bias DQ is present.
  if (t.op === 'Gemm' && !getAttr(t.node, 'beta'))
    t.node.attribute = [...(t.node.attribute ?? []), attrFloat('beta', 1)];
  return b.saturated;
}

/** Rewrites `model` in place; `ranges` must cover activationsToCalibrate(model, targets). */
export function applyStaticQdq(
  model: OnnxModel,
  targets: readonly QuantTarget[],
  ranges: ReadonlyMap<string, TensorRange>,
  options: WeightOptions,
): StaticQdqStats {
  const graph = graphOf(model);
  sortTopologically(graph);
  const params = new Map<string, QuantParams>();
  for (const [name, r] of ranges) params.set(name, activationParams(r.min, r.max));
  propagateThroughPassthrough(graph, params);
  const consumers = valueUses(graph).consumers;
  const editor = new GraphEditor(graph);

  let saturatedBiasValues = 0;
  for (const t of targets) {
    const input = params.get(t.node.input?.[0] ?? '');
    if (!input) throw new FoglineError('INTERNAL', `no calibrated range for the input of ${t.node.name}`);
    saturatedBiasValues += quantizeTargetWeights(editor, t, input.scale, options);
  }

  let activations = 0;
  for (const [tensor, p] of params) {
    const readers = consumers.get(tensor) ?? [];
    if (readers.length === 0) continue;
    activations++;
    const s = editor.addInitializer(floatTensor(`${tensor}_scale`, [], Float32Array.of(p.scale)));
    const z = editor.addInitializer(uint8Tensor(`${tensor}_zero_point`, [], Uint8Array.of(p.zeroPoint)));
    const [q] = editor.addNode(
      'QuantizeLinear',
      [tensor, s, z],
      [`${tensor}_quantized`],
      `${tensor}_QuantizeLinear`,
    );
    // One DequantizeLinear per consumer: each consumer then forms its own QDQ node unit.
    for (const reader of readers) {
      const [dq] = editor.addNode(
        'DequantizeLinear',
        [q!, s, z],
        [`${tensor}_dequantized`],
        `${tensor}_DequantizeLinear`,
      );
      GraphEditor.rewire(reader, tensor, dq!);
    }
  }
  editor.finish();
  return {
    activations,
    weights: targets.length,
    biases: targets.filter((t) => t.bias).length,
    saturatedBiasValues,
  };
}

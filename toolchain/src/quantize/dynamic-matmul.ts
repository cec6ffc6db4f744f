/**
 * Dynamic quantization of MatMul / Gemm: int8 weights stored once, the activation quantized at run
 * time. Standard ONNX ops only (DynamicQuantizeLinear opset ≥ 11, MatMulInteger opset ≥ 10), in the
 * pattern onnxruntime fuses into MatMulIntegerToFloat / DynamicQuantizeMatMul:
 *
 *   X ─DynamicQuantizeLinear→ (Xq uint8, Xs, Xz)
 *   MatMulInteger(Xq, Wq int8 [K,N], Xz, Wz) → int32 ─Cast(FLOAT)→ · Mul(Xs × Ws) (+ bias) → Y
 *
 * Gemm is rewritten as MatMul: transB folds into the stored weight, alpha into its scales, beta·C
 * into the bias. Gemm with transA = 1 is left in float (findTargets skips it).
 */

import { attrInt, floatAttr, graphOf, intAttr } from '../onnx/graph.ts';
import { GraphEditor } from '../onnx/graph-editor.ts';
import { DataType, type OnnxModel, type OnnxTensor } from '../onnx/ir.ts';
import { floatTensor, int8Tensor, readFloats } from '../onnx/tensor.ts';
import { quantizeWeights } from './quant-params.ts';
import type { WeightOptions } from './static-qdq.ts';
import type { QuantTarget } from './targets.ts';

export interface DynamicStats {
  readonly weights: number;
}

/** W as [K, N] row-major: Gemm's transB = 1 stores B as [N, K]. */
function weightKN(t: QuantTarget): { values: Float32Array; k: number; n: number } {
  const w = readFloats(t.weight);
  const [d0 = 0, d1 = 0] = t.weight.dims ?? [];
  if (!(t.op === 'Gemm' && intAttr(t.node, 'transB', 0) === 1)) return { values: w, k: d0, n: d1 };
  const out = new Float32Array(w.length);
  for (let r = 0; r < d0; r++) for (let c = 0; c < d1; c++) out[c * d0 + r] = w[r * d1 + c]!;
  return { values: out, k: d1, n: d0 };
}

/** The float bias to add after the product: beta·C for Gemm (C constant), else C itself or none. */
function biasInput(editor: GraphEditor, t: QuantTarget, init: Map<string, OnnxTensor>): string | undefined {
  const c = t.op === 'Gemm' ? t.node.input?.[2] : undefined;
  if (!c) return undefined;
  const beta = floatAttr(t.node, 'beta', 1);
  const constant = init.get(c);
  if (beta === 1) return c;
  if (constant?.dataType === DataType.FLOAT) {
    const scaled = readFloats(constant).map((v) => v * beta);
    return editor.addInitializer(floatTensor(`${c}_times_beta`, constant.dims ?? [], scaled));
  }
  const b = editor.addInitializer(floatTensor(`${c}_beta`, [], Float32Array.of(beta)));
  return editor.addNode('Mul', [c, b], [`${c}_times_beta`], `${c}_beta_Mul`)[0];
}

/** Rewrites `model` in place, replacing each target node by the integer pattern above. */
export function applyDynamicQuantization(
  model: OnnxModel,
  targets: readonly QuantTarget[],
  options: WeightOptions,
): DynamicStats {
  const graph = graphOf(model);
  const editor = new GraphEditor(graph);
  const init = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const replaced = new Set(targets.map((t) => t.node));
  for (const t of targets) {
    const [x = ''] = t.node.input ?? [];
    const [y = ''] = t.node.output ?? [];
    const base = t.node.name || y;
    const { values, k, n } = weightKN(t);
    const q = quantizeWeights(
      values,
      [k, n],
      options.perChannel ? 1 : undefined,
      options.reduceRange ? 63 : 127,
    );
    const alpha = t.op === 'Gemm' ? floatAttr(t.node, 'alpha', 1) : 1;
    const paramDims = options.perChannel ? [n] : [];
    const wName = t.weight.name ?? 'weight';
    const wq = editor.addInitializer(int8Tensor(`${wName}_quantized`, [k, n], q.values));
    const ws = editor.addInitializer(
      floatTensor(
        `${wName}_scale`,
        paramDims,
        q.scales.map((s) => s * alpha),
      ),
    );
    const wz = editor.addInitializer(
      int8Tensor(`${wName}_zero_point`, paramDims, new Int8Array(q.scales.length)),
    );
    const bias = biasInput(editor, t, init);

    const [xq, xs, xz] = editor.addNode(
      'DynamicQuantizeLinear',
      [x],
      [`${x}_quantized`, `${x}_scale`, `${x}_zero_point`],
      `${base}_DynamicQuantizeLinear`,
    );
    const [yi] = editor.addNode('MatMulInteger', [xq!, wq, xz!, wz], [`${y}_int32`], `${base}_MatMulInteger`);
    const [yf] = editor.addNode('Cast', [yi!], [`${y}_float`], `${base}_Cast`, [
      attrInt('to', DataType.FLOAT),
    ]);
    const [scale] = editor.addNode('Mul', [xs!, ws], [`${y}_scale`], `${base}_scale_Mul`);
    if (bias) {
      const [scaled] = editor.addNode('Mul', [yf!, scale!], [`${y}_scaled`], `${base}_Mul`);
      graph.node!.push({
        opType: 'Add',
        input: [scaled!, bias],
        output: [y],
        name: editor.fresh(`${base}_bias_Add`),
      });
    } else {
      graph.node!.push({
        opType: 'Mul',
        input: [yf!, scale!],
        output: [y],
        name: editor.fresh(`${base}_Mul`),
      });
    }
  }
  graph.node = (graph.node ?? []).filter((node) => !replaced.has(node));
  editor.finish();
  return { weights: targets.length };
}

/**
 * A model's precision as its ONNX graph shows it: int8 when it holds quantized operators, with the
 * scheme they imply (static: QuantizeLinear/DequantizeLinear pairs or fused QLinear ops with fixed
 * activation scales; dynamic: activations quantized at run time by DynamicQuantizeLinear and integer
 * MatMul/Conv), else fp32. The dashboard's Models page shows it for every served version, with or
 * without a `fogline quantize` report.
 */
import { graphOf } from '../onnx/graph.ts';
import type { OnnxModel } from '../onnx/ir.ts';
import { QUANTIZED_OPS } from './check-model.ts';

export type ModelPrecision =
  | { readonly precision: 'fp32' }
  | {
      readonly precision: 'int8';
      readonly scheme: 'static' | 'dynamic';
      /** Count of each quantized operator in the graph. */
      readonly ops: Readonly<Record<string, number>>;
    };

const DYNAMIC_OPS = new Set([
  'DynamicQuantizeLinear',
  'DynamicQuantizeMatMul',
  'MatMulIntegerToFloat',
  'MatMulInteger',
  'ConvInteger',
]);

export function precisionOf(model: OnnxModel): ModelPrecision {
  const ops: Record<string, number> = {};
  for (const node of graphOf(model).node ?? []) {
    const op = node.opType ?? '';
    if (QUANTIZED_OPS.has(op)) ops[op] = (ops[op] ?? 0) + 1;
  }
  const names = Object.keys(ops);
  if (names.length === 0) return { precision: 'fp32' };
  return { precision: 'int8', scheme: names.some((op) => DYNAMIC_OPS.has(op)) ? 'dynamic' : 'static', ops };
}

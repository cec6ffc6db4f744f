/**
 * Input checks before any rewrite, each failing with an INVALID_ARG that names the problem:
 * opset too old for the chosen form, operators from unknown domains, control-flow subgraphs,
 * external tensor data, and models that are already quantized.
 */
import { FoglineError } from '@fogline/shared';
import { graphOf, opsetVersion } from '../onnx/graph.ts';
import type { OnnxModel } from '../onnx/ir.ts';
import { assertInline } from '../onnx/tensor.ts';

export type QuantizeMode = 'static' | 'dynamic';

const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']);
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);
/** Operators only a quantized graph holds (model-precision.ts reads a model's precision from them). */
export const QUANTIZED_OPS: ReadonlySet<string> = new Set([
  'QuantizeLinear',
  'DequantizeLinear',
  'DynamicQuantizeLinear',
  'QLinearConv',
  'QLinearMatMul',
  'MatMulInteger',
  'ConvInteger',
  'QGemm',
  'DynamicQuantizeMatMul',
  'MatMulIntegerToFloat',
]);

/**
 * Lowest ai.onnx opset per form: QuantizeLinear/DequantizeLinear exist from 10 and take a
 * per-axis scale (the `axis` attribute) from 13; DynamicQuantizeLinear exists from 11.
 */
export function minimumOpset(mode: QuantizeMode, perChannel: boolean): number {
  if (mode === 'dynamic') return 11;
  return perChannel ? 13 : 10;
}

export function checkQuantizable(
  model: OnnxModel,
  mode: QuantizeMode,
  perChannel: boolean,
  source: string,
): void {
  const opset = opsetVersion(model, '');
  if (opset === undefined) {
    throw new FoglineError('INVALID_ARG', `${source}: unsupported opset: the model imports no ai.onnx opset`);
  }
  const needed = minimumOpset(mode, perChannel);
  if (opset < needed) {
    const hint = mode === 'static' && perChannel ? ' (or pass --no-per-channel, which needs opset 10)' : '';
    throw new FoglineError(
      'INVALID_ARG',
      `${source}: unsupported opset ${opset}: ${mode}${perChannel && mode === 'static' ? ' per-channel' : ''} quantization needs ai.onnx opset ≥ ${needed}; re-export the model with a newer opset${hint}`,
      { details: { opset, needed } },
    );
  }
  const graph = graphOf(model);
  for (const node of graph.node ?? []) {
    const op = node.opType ?? '';
    const where = `node "${node.name || node.output?.[0] || op}"`;
    if (!KNOWN_DOMAINS.has(node.domain ?? '')) {
      throw new FoglineError(
        'INVALID_ARG',
        `${source}: unsupported op ${node.domain}::${op} (${where}): only ai.onnx, ai.onnx.ml and com.microsoft operators are handled`,
      );
    }
    if (SUBGRAPH_OPS.has(op)) {
      throw new FoglineError(
        'INVALID_ARG',
        `${source}: unsupported op ${op} (${where}): control-flow subgraphs are not rewritten`,
      );
    }
    if (QUANTIZED_OPS.has(op)) {
      throw new FoglineError(
        'INVALID_ARG',
        `${source}: the model is already quantized (${where} is ${op}); quantize the float model`,
      );
    }
  }
  for (const t of graph.initializer ?? []) assertInline(t, source);
}

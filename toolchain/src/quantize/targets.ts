/**
 * Which nodes get integer weights: Conv, MatMul and Gemm in the default domain whose weight is a
 * constant FLOAT initializer. Each target records the weight's output-channel axis, the axis a
 * per-channel scale runs along (onnx DequantizeLinear `axis`):
 *   Conv W [M, C/group, k...]          → 0
 *   Gemm B [N, K] with transB = 1      → 0;   B [K, N] with transB = 0 → 1
 *   MatMul B [K, N]                    → 1
 */

import { floatAttr, intAttr } from '../onnx/graph.ts';
import type { OnnxGraph, OnnxNode, OnnxTensor } from '../onnx/ir.ts';
import { DataType } from '../onnx/ir.ts';
import { elementCount } from '../onnx/tensor.ts';

export type TargetOp = 'Conv' | 'MatMul' | 'Gemm';
export const TARGET_OPS: readonly TargetOp[] = ['Conv', 'MatMul', 'Gemm'];

export interface QuantTarget {
  readonly node: OnnxNode;
  readonly op: TargetOp;
  readonly weight: OnnxTensor;
  readonly channelAxis: number;
  /** The float bias initializer when it is 1-D with one value per output channel. */
  readonly bias?: OnnxTensor;
}

export interface SkippedNode {
  readonly node: string;
  readonly op: string;
  readonly reason: string;
}

export interface TargetSearch {
  readonly targets: QuantTarget[];
  readonly skipped: SkippedNode[];
}

function isDefaultDomain(node: OnnxNode): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}

function channelAxisOf(node: OnnxNode, op: TargetOp): number {
  if (op === 'Conv') return 0;
  if (op === 'Gemm') return intAttr(node, 'transB', 0) === 1 ? 0 : 1;
  return 1;
}

function weightProblem(op: TargetOp, w: OnnxTensor | undefined, overridable: boolean): string | undefined {
  if (!w) return 'weight is not a constant initializer';
  if (overridable) return 'weight is also a graph input (can be overridden at run time)';
  if (w.dataType !== DataType.FLOAT) return `weight has data type ${w.dataType}, not FLOAT`;
  const rank = (w.dims ?? []).length;
  if (op === 'Conv' && rank < 3) return `Conv weight has rank ${rank}`;
  if (op !== 'Conv' && rank !== 2) return `${op} weight has rank ${rank}, only 2-D weights are quantized`;
  return undefined;
}

function biasOf(
  node: OnnxNode,
  op: TargetOp,
  init: Map<string, OnnxTensor>,
  channels: number,
): OnnxTensor | undefined {
  if (op === 'MatMul') return undefined;
  const b = node.input?.[2] ? init.get(node.input[2]) : undefined;
  if (
    !b ||
    b.dataType !== DataType.FLOAT ||
    (b.dims ?? []).length !== 1 ||
    elementCount(b.dims ?? []) !== channels
  ) {
    return undefined;
  }
  // Gemm: Y = alpha·A·B + beta·C; an int32 bias stands for C only when beta = 1.
  if (op === 'Gemm' && floatAttr(node, 'beta', 1) !== 1) return undefined;
  return b;
}

/** Finds the targets among `ops`; every other Conv/MatMul/Gemm is listed in `skipped` with why. */
export function findTargets(graph: OnnxGraph, ops: readonly TargetOp[], allowTransA = true): TargetSearch {
  const init = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const graphInputs = new Set((graph.input ?? []).map((i) => i.name));
  const targets: QuantTarget[] = [];
  const skipped: SkippedNode[] = [];
  for (const node of graph.node ?? []) {
    const op = node.opType as TargetOp;
    if (!TARGET_OPS.includes(op) || !isDefaultDomain(node)) continue;
    const name = node.name || node.output?.[0] || op;
    const skip = (reason: string): void => {
      skipped.push({ node: name, op, reason });
    };
    if (!ops.includes(op)) {
      skip(`${op} is not quantized in this mode`);
      continue;
    }
    const [a, b] = node.input ?? [];
    if (!a || init.has(a)) {
      skip('first input is a constant, not an activation');
      continue;
    }
    const weight = b ? init.get(b) : undefined;
    const problem = weightProblem(op, weight, graphInputs.has(b));
    if (problem || !weight) {
      skip(problem ?? 'no weight');
      continue;
    }
    if (op === 'Gemm' && !allowTransA && intAttr(node, 'transA', 0) !== 0) {
      skip('Gemm with transA = 1');
      continue;
    }
    const channelAxis = channelAxisOf(node, op);
    const bias = biasOf(node, op, init, weight.dims?.[channelAxis] ?? 0);
    targets.push({ node, op, weight, channelAxis, ...(bias ? { bias } : {}) });
  }
  return { targets, skipped };
}

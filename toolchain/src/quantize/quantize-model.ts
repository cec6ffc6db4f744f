/**
 * `fogline quantize` core: checks the float model, finds the Conv/MatMul/Gemm weights to quantize,
 * calibrates activation ranges (static) and rewrites the graph, then proves the result loads in
 * onnxruntime and records which integer kernels onnxruntime fused it into. Nothing is written here;
 * the caller writes `bytes` only after this resolves.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import type { Dataset } from '../dataset/dataset.ts';
import { decodeModel, encodeModel } from '../onnx/codec.ts';
import { graphOf } from '../onnx/graph.ts';
import type { OnnxModel } from '../onnx/ir.ts';
import { type SingleInput, singleFloatInput } from '../onnx/model-input.ts';
import { checkQuantizable, type QuantizeMode } from './check-model.ts';
import { type CalibrationProgress, collectRanges } from './collect-ranges.ts';
import { applyDynamicQuantization } from './dynamic-matmul.ts';
import { openSession } from './model-runner.ts';
import type { CalibrationMethod, TensorRange } from './range-observer.ts';
import { activationsToCalibrate, applyStaticQdq, type WeightOptions } from './static-qdq.ts';
import { findTargets, type SkippedNode, TARGET_OPS, type TargetOp } from './targets.ts';

export interface QuantizeOptions extends WeightOptions {
  readonly mode: QuantizeMode;
  readonly method: CalibrationMethod;
  /** Kept fraction for the percentile method, in percent (e.g. 99.99). */
  readonly percentile: number;
  /** Required for static mode. */
  readonly calibration?: Dataset;
  readonly onProgress?: (p: CalibrationProgress) => void;
}

export interface QuantizedModel {
  readonly bytes: Uint8Array;
  readonly quantized: readonly { readonly node: string; readonly op: TargetOp }[];
  readonly skipped: readonly SkippedNode[];
  /** Activations given a QuantizeLinear/DequantizeLinear pair (static mode). */
  readonly activations: number;
  readonly saturatedBiasValues: number;
  /** Calibrated range per activation (static mode). */
  readonly ranges: Readonly<Record<string, TensorRange>>;
  /** Operator counts of the graph onnxruntime actually runs (after its QDQ fusions). */
  readonly runtimeOps: Readonly<Record<string, number>>;
}

export interface InspectedModel {
  readonly model: OnnxModel;
  readonly input: SingleInput;
  /** The name of its first output (the class scores). */
  readonly output: string;
}

/** Decodes the model and finds its one float input (the calibration data must fit it). */
export function inspectModel(bytes: Uint8Array, source: string): InspectedModel {
  const model = decodeModel(bytes, source);
  const output = graphOf(model).output?.[0]?.name;
  if (!output) throw new FoglineError('INVALID_ARG', `${source} has no outputs`);
  return { model, input: singleFloatInput(model), output };
}

/** Loads the model as onnxruntime optimizes it (all levels) and counts the operators it runs. */
export async function runtimeOpCounts(bytes: Uint8Array, what: string): Promise<Record<string, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'fogline-quantize-'));
  try {
    const optimizedModelFilePath = join(dir, 'optimized.onnx');
    const session = await openSession(bytes, what, {
      graphOptimizationLevel: 'extended',
      optimizedModelFilePath,
      logSeverityLevel: 3,
    });
    await session.release();
    const counts: Record<string, number> = {};
    for (const node of graphOf(decodeModel(await readFile(optimizedModelFilePath), what)).node ?? []) {
      const op = node.opType ?? '?';
      counts[op] = (counts[op] ?? 0) + 1;
    }
    return counts;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function quantizeModel(
  bytes: Uint8Array,
  options: QuantizeOptions,
  source: string,
): Promise<QuantizedModel> {
  const original = decodeModel(bytes, source);
  checkQuantizable(original, options.mode, options.perChannel, source);
  await (await openSession(bytes, `${source} (the float model)`)).release();

  const model = structuredClone(original);
  const ops = options.mode === 'static' ? TARGET_OPS : (['MatMul', 'Gemm'] as const);
  const { targets, skipped } = findTargets(graphOf(model), ops, options.mode === 'static');
  if (targets.length === 0) {
    const why = skipped.map((s) => `${s.op} "${s.node}": ${s.reason}`).join('; ');
    throw new FoglineError(
      'INVALID_ARG',
      `nothing to quantize in ${source}: no ${ops.join('/')} node with a constant FLOAT weight${why ? ` (${why})` : ''}; nothing was written`,
      { details: { skipped } },
    );
  }

  let activations = 0;
  let saturatedBiasValues = 0;
  let ranges = new Map<string, TensorRange>();
  if (options.mode === 'static') {
    if (!options.calibration)
      throw new FoglineError('INVALID_ARG', 'static quantization needs calibration data');
    ranges = await collectRanges(
      original,
      activationsToCalibrate(model, targets),
      options.calibration,
      options,
    );
    ({ activations, saturatedBiasValues } = applyStaticQdq(model, targets, ranges, options));
  } else {
    applyDynamicQuantization(model, targets, options);
  }
  model.metadataProps = [
    ...(model.metadataProps ?? []),
    { key: 'fogline.quantization', value: describe(options) },
  ];

  const out = encodeModel(model);
  let runtimeOps: Record<string, number>;
  try {
    runtimeOps = await runtimeOpCounts(out, 'the quantized model');
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FoglineError('INTERNAL', `${reason}; nothing was written`, { cause });
  }
  return {
    bytes: out,
    quantized: targets.map((t) => ({ node: t.node.name || t.node.output?.[0] || t.op, op: t.op })),
    skipped,
    activations,
    saturatedBiasValues,
    ranges: Object.fromEntries(ranges),
    runtimeOps,
  };
}

function describe(o: QuantizeOptions): string {
  const calib =
    o.mode === 'static'
      ? `, ${o.method}${o.method === 'percentile' ? ` ${o.percentile}` : ''} on ${o.calibration?.source}`
      : '';
  return `${o.mode}, ${o.perChannel ? 'per-channel' : 'per-tensor'}${o.reduceRange ? ' 7-bit' : ''} int8 weights${calib}`;
}

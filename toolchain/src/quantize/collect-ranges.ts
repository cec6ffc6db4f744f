/**
 * Calibration: runs the fp32 model over the samples with the tensors of interest exposed as extra
 * graph outputs, and estimates each tensor's range (min-max, or percentile in a second pass).
 */

import type { Dataset } from '../dataset/dataset.ts';
import { encodeModel } from '../onnx/codec.ts';
import { graphOf, tensorValueInfo } from '../onnx/graph.ts';
import { DataType, type OnnxModel } from '../onnx/ir.ts';
import { singleFloatInput } from '../onnx/model-input.ts';
import { openSession, runBatches } from './model-runner.ts';
import {
  type CalibrationMethod,
  HistogramObserver,
  MinMaxObserver,
  type TensorRange,
} from './range-observer.ts';

export interface CalibrationProgress {
  readonly done: number;
  readonly total: number;
}

export interface CollectOptions {
  readonly method: CalibrationMethod;
  /** Percentile kept by the percentile method, e.g. 99.99. */
  readonly percentile: number;
  readonly batchSize?: number;
  readonly onProgress?: (p: CalibrationProgress) => void;
}

/** A copy of the model whose graph also outputs every tensor in `names`. */
function exposeTensors(model: OnnxModel, names: readonly string[]): OnnxModel {
  const copy = structuredClone(model);
  const graph = graphOf(copy);
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const added = names.filter((n) => !outputs.has(n)).map((n) => tensorValueInfo(n, DataType.FLOAT));
  graph.output = [...(graph.output ?? []), ...added];
  return copy;
}

export async function collectRanges(
  model: OnnxModel,
  tensors: readonly string[],
  samples: Dataset,
  options: CollectOptions,
): Promise<Map<string, TensorRange>> {
  const input = singleFloatInput(model);
  const feedSpec = { name: input.name, datatype: 'FP32', shape: [] } as const;
  const inner = tensors.filter((t) => t !== input.name);
  const session = await openSession(
    encodeModel(exposeTensors(model, inner)),
    'the calibration copy of the model',
  );
  const batchSize = options.batchSize ?? 100;
  const batches = Math.ceil(samples.count / batchSize);
  const passes = options.method === 'percentile' ? 2 : 1;
  let done = 0;
  const tick = (): void => options.onProgress?.({ done: ++done, total: batches * passes });
  const valuesOf = (
    name: string,
    feed: Float32Array,
    outputs: Record<string, { data: unknown }>,
  ): Float32Array => (name === input.name ? feed : (outputs[name]?.data as Float32Array));

  try {
    const minMax = new Map(tensors.map((t) => [t, new MinMaxObserver()]));
    await runBatches(session, feedSpec, samples, batchSize, ({ feed, outputs }) => {
      for (const [name, obs] of minMax) obs.observe(valuesOf(name, feed, outputs));
      tick();
    });
    const ranges = new Map([...minMax].map(([name, obs]) => [name, obs.range()]));
    if (options.method === 'minmax') return ranges;

    const histograms = new Map([...ranges].map(([name, r]) => [name, new HistogramObserver(r.min, r.max)]));
    await runBatches(session, feedSpec, samples, batchSize, ({ feed, outputs }) => {
      for (const [name, h] of histograms) h.observe(valuesOf(name, feed, outputs));
      tick();
    });
    return new Map([...histograms].map(([name, h]) => [name, h.range(options.percentile)]));
  } finally {
    await session.release();
  }
}

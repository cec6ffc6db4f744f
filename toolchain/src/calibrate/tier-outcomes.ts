/**
 * Runs one tier's model over a labelled dataset through the one evaluation (evaluate/): per-sample
 * correctness and routing scores (from the class probabilities, @fogline/shared/core/routing), plus
 * its batch-1 latency.
 */

import { entropyConfidence, FoglineError, margin, maxprob } from '@fogline/shared';
import type * as ort from 'onnxruntime-node';
import { type Dataset, type DatasetProgress, sampleOf } from '../dataset/dataset.ts';
import { type EvaluatedModel, type Evaluation, evaluateSession } from '../evaluate/evaluate-model.ts';
import { inputTensor, openSession } from '../quantize/model-runner.ts';
import type { TierOutcomes } from './cascade.ts';

export interface TierRun extends TierOutcomes {
  readonly accuracy: number;
  /** This tier's answer (top-1 class) on each sample. */
  readonly predicted: Uint32Array;
}

/** Scores and correctness of every sample, from an evaluation of a labelled dataset. */
export function outcomesOf(e: Evaluation, labels: ArrayLike<number>, latencyMs: number): TierRun {
  const { count, classes } = e;
  const correct = new Uint8Array(count);
  const scores = {
    maxprob: new Float64Array(count),
    margin: new Float64Array(count),
    entropy: new Float64Array(count),
  };
  for (let i = 0; i < count; i++) {
    const p = e.probabilities.subarray(i * classes, (i + 1) * classes);
    correct[i] = e.predicted[i] === labels[i] ? 1 : 0;
    scores.maxprob[i] = maxprob(p);
    scores.margin[i] = margin(p);
    scores.entropy[i] = entropyConfidence(p);
  }
  const accuracy = correct.reduce((a, b) => a + b, 0) / count;
  return { correct, scores, latencyMs, accuracy, predicted: e.predicted };
}

/** Median wall time of single-input runs over the first samples (after a warm-up). */
async function batchOneLatencyMs(
  session: ort.InferenceSession,
  model: EvaluatedModel,
  set: Dataset,
  runs: number,
): Promise<number> {
  const input = model.inputs[0]!;
  const feeds = Array.from({ length: Math.min(set.count, 50) }, (_, i) => ({
    [input.name]: inputTensor(input, sampleOf(set, i), [1, ...set.sampleDims]),
  }));
  for (let i = 0; i < 20; i++) await session.run(feeds[i % feeds.length]!);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds[i % feeds.length]!);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

export interface TierRunOptions {
  /** Batch-1 runs for the latency median; 0 skips the measurement (latencyMs = NaN). */
  readonly latencyRuns: number;
  readonly onProgress?: (p: DatasetProgress) => void;
}

export async function runTier(
  modelBytes: Uint8Array,
  what: string,
  model: EvaluatedModel,
  set: Dataset,
  options: TierRunOptions,
): Promise<TierRun> {
  const labels = set.labels;
  if (!labels)
    throw new FoglineError('INVALID_ARG', `${set.source} has no labels; calibration needs labelled samples`);
  const session = await openSession(modelBytes, what);
  try {
    const evaluation = await evaluateSession(session, model, set, {
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    const latencyMs =
      options.latencyRuns > 0
        ? await batchOneLatencyMs(session, model, set, options.latencyRuns)
        : Number.NaN;
    return outcomesOf(evaluation, labels, latencyMs);
  } finally {
    await session.release();
  }
}

/**
 * Runs one tier's model over a labelled sample set: per-sample correctness and routing scores (from
 * the softmax of the model's first output, @fogline/shared/core/routing), plus its batch-1 latency.
 */

import { argmax, entropyConfidence, FoglineError, margin, maxprob, softmax } from '@fogline/shared';
import * as ort from 'onnxruntime-node';
import { openSession, predict } from '../quantize/model-runner.ts';
import { batchOf, type SampleSet } from '../quantize/sample-set.ts';
import type { TierOutcomes } from './cascade.ts';

export interface TierRun extends TierOutcomes {
  readonly accuracy: number;
}

/** Scores and correctness of every sample, from row-major [count, classes] logits. */
export function outcomesFromLogits(
  logits: Float32Array,
  classes: number,
  labels: Uint8Array,
  latencyMs: number,
): TierRun {
  const count = labels.length;
  const correct = new Uint8Array(count);
  const scores = {
    maxprob: new Float64Array(count),
    margin: new Float64Array(count),
    entropy: new Float64Array(count),
  };
  for (let i = 0; i < count; i++) {
    const p = softmax(logits, i * classes, classes);
    correct[i] = argmax(p) === labels[i] ? 1 : 0;
    scores.maxprob[i] = maxprob(p);
    scores.margin[i] = margin(p);
    scores.entropy[i] = entropyConfidence(p);
  }
  return { correct, scores, latencyMs, accuracy: correct.reduce((a, b) => a + b, 0) / count };
}

/** Median wall time of single-input runs over the first samples (after a warm-up). */
async function batchOneLatencyMs(
  session: ort.InferenceSession,
  inputName: string,
  set: SampleSet,
  runs: number,
): Promise<number> {
  const feeds = Array.from({ length: Math.min(set.count, 50) }, (_, i) => ({
    [inputName]: new ort.Tensor('float32', batchOf(set, i, 1), [1, ...set.sampleDims]),
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
}

export async function runTier(
  modelBytes: Uint8Array,
  what: string,
  set: SampleSet,
  options: TierRunOptions,
): Promise<TierRun> {
  if (!set.labels)
    throw new FoglineError('INVALID_ARG', `${set.source} has no labels; calibration needs labelled samples`);
  const session = await openSession(modelBytes, what);
  try {
    const inputName = session.inputNames[0];
    if (!inputName) throw new FoglineError('INVALID_ARG', `${what} has no inputs`);
    const p = await predict(session, inputName, set);
    const latencyMs =
      options.latencyRuns > 0
        ? await batchOneLatencyMs(session, inputName, set, options.latencyRuns)
        : Number.NaN;
    return outcomesFromLogits(p.scores, p.classes, set.labels, latencyMs);
  } finally {
    await session.release();
  }
}

/** onnxruntime-node adapter: open a session from bytes, run a sample set in batches. */
import { FoglineError } from '@fogline/shared';
import * as ort from 'onnxruntime-node';
import { batchOf, type SampleSet } from './sample-set.ts';

/** Opens a session; an onnxruntime load failure becomes a FoglineError naming `what`. */
export async function openSession(
  bytes: Uint8Array,
  what: string,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FoglineError('INVALID_ARG', `onnxruntime cannot load ${what}: ${reason}`, { cause });
  }
}

export interface BatchOutputs {
  readonly start: number;
  readonly count: number;
  /** The input values fed for this batch. */
  readonly feed: Float32Array;
  readonly outputs: ort.InferenceSession.OnnxValueMapType;
}

/** Runs every sample through the session in batches of `batchSize`, calling `onBatch` per batch. */
export async function runBatches(
  session: ort.InferenceSession,
  inputName: string,
  set: SampleSet,
  batchSize: number,
  onBatch: (b: BatchOutputs) => void,
): Promise<void> {
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    const values = batchOf(set, start, n);
    const outputs = await session.run({
      [inputName]: new ort.Tensor('float32', values, [n, ...set.sampleDims]),
    });
    onBatch({ start, count: n, feed: values, outputs });
  }
}

export interface Predictions {
  /** Row-major [count, classes] of the first model output. */
  readonly scores: Float32Array;
  readonly classes: number;
  readonly count: number;
}

/** The first output of the model for every sample (logits or probabilities of a classifier). */
export async function predict(
  session: ort.InferenceSession,
  inputName: string,
  set: SampleSet,
  batchSize = 256,
): Promise<Predictions> {
  const outputName = session.outputNames[0];
  if (!outputName) throw new FoglineError('INVALID_ARG', 'the model has no outputs');
  let scores = new Float32Array(0);
  let classes = 0;
  await runBatches(session, inputName, set, batchSize, ({ start, count, outputs }) => {
    const out = outputs[outputName];
    if (!out || !(out.data instanceof Float32Array)) {
      throw new FoglineError('INVALID_ARG', `model output "${outputName}" is not a float tensor`);
    }
    if (classes === 0) {
      classes = out.data.length / count;
      scores = new Float32Array(set.count * classes);
    }
    scores.set(out.data, start * classes);
  });
  return { scores, classes, count: set.count };
}

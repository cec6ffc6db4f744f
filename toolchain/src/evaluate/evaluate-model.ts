/**
 * The one evaluation of a classifier over a dataset, used by `fogline models eval|report`,
 * `calibrate` (per-tier outcomes) and `quantize`'s report: the model's first output turned into
 * class probabilities (`classProbabilities`: softmax of logits, or the probabilities themselves), the
 * top-1 class per sample, and accuracy overall and per class when the dataset is labelled.
 */
import { argmax, classProbabilities, FoglineError } from '@fogline/shared';
import type * as ort from 'onnxruntime-node';
import type { Dataset, DatasetProgress } from '../dataset/dataset.ts';
import { type ModelSignature, openSession, predict } from '../quantize/model-runner.ts';

export interface ClassAccuracy {
  /** The class name from the config's labels, else its index. */
  readonly label: string;
  readonly count: number;
  /** null when the dataset has no sample of this class. */
  readonly accuracy: number | null;
}

export interface Evaluation {
  readonly source: string;
  readonly count: number;
  readonly classes: number;
  /** Row-major [count, classes] class probabilities. */
  readonly probabilities: Float32Array;
  readonly predicted: Uint32Array;
  /** Hits and accuracy; null when the dataset is unlabelled. */
  readonly correct: number | null;
  readonly accuracy: number | null;
  /** Per class, in class order (empty when unlabelled). */
  readonly perClass: readonly ClassAccuracy[];
}

export interface EvaluateOptions {
  readonly batchSize?: number;
  readonly onProgress?: (p: DatasetProgress) => void;
}

export type EvaluatedModel = ModelSignature & { readonly labels?: readonly string[] };

/** Evaluates a model on an open session (the caller owns the session). */
export async function evaluateSession(
  session: ort.InferenceSession,
  model: EvaluatedModel,
  set: Dataset,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const p = await predict(session, model, set, options);
  const { classes, count } = p;
  const labels = model.labels ?? [];
  if (labels.length > 0 && labels.length !== classes) {
    throw new FoglineError(
      'INVALID_ARG',
      `the model's first output gives ${classes} classes but its config names ${labels.length} labels`,
    );
  }
  const probabilities = new Float32Array(count * classes);
  const predicted = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const row = classProbabilities(p.scores, model.output_kind, i * classes, classes);
    probabilities.set(row, i * classes);
    predicted[i] = argmax(row);
  }
  if (!set.labels)
    return {
      source: set.source,
      count,
      classes,
      probabilities,
      predicted,
      correct: null,
      accuracy: null,
      perClass: [],
    };
  const hits = new Array<number>(classes).fill(0);
  const totals = new Array<number>(classes).fill(0);
  let correct = 0;
  for (let i = 0; i < count; i++) {
    const label = set.labels[i]!;
    if (label >= classes) {
      throw new FoglineError(
        'INVALID_ARG',
        `${set.source}: label ${label} of sample ${i} is not one of the model's ${classes} classes`,
      );
    }
    totals[label]!++;
    if (predicted[i] === label) {
      correct++;
      hits[label]!++;
    }
  }
  const perClass = totals.map((n, k) => ({
    label: labels[k] ?? String(k),
    count: n,
    accuracy: n === 0 ? null : hits[k]! / n,
  }));
  return {
    source: set.source,
    count,
    classes,
    probabilities,
    predicted,
    correct,
    accuracy: correct / count,
    perClass,
  };
}

/** Opens the model, evaluates it, releases the session. */
export async function evaluateModel(
  bytes: Uint8Array,
  what: string,
  model: EvaluatedModel,
  set: Dataset,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const session = await openSession(bytes, what);
  try {
    return await evaluateSession(session, model, set, options);
  } finally {
    await session.release();
  }
}

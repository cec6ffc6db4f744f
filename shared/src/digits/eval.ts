import * as ort from 'onnxruntime-node';
import { argmaxRows } from '../core/routing/scores.ts';
import { type DigitsSplit, loadDigits } from './dataset.ts';

const PIXELS = 28 * 28;

export interface SplitPredictions {
  readonly split: DigitsSplit;
  readonly count: number;
  readonly classes: number;
  /** Row-major [count, classes]. */
  readonly logits: Float32Array;
  readonly labels: Uint8Array;
}

export interface SplitAccuracy {
  readonly split: DigitsSplit;
  readonly count: number;
  readonly correct: number;
  readonly accuracy: number;
  /** Accuracy per true label, index = digit. */
  readonly perClass: readonly number[];
}

/** Runs a digits-contract ONNX model (image [-1,1,28,28] → logits [-1,K]) over a whole split. */
export async function predictSplit(
  modelPath: string,
  split: DigitsSplit,
  batchSize = 256,
): Promise<SplitPredictions> {
  const data = loadDigits(split);
  const session = await ort.InferenceSession.create(modelPath);
  try {
    const [inputName] = session.inputNames;
    const [outputName] = session.outputNames;
    if (!inputName || !outputName) throw new Error(`${modelPath}: model has no inputs or outputs`);
    let logits = new Float32Array(0);
    let classes = 0;
    for (let start = 0; start < data.count; start += batchSize) {
      const n = Math.min(batchSize, data.count - start);
      const image = new ort.Tensor('float32', data.images.subarray(start * PIXELS, (start + n) * PIXELS), [
        n,
        1,
        28,
        28,
      ]);
      const out = (await session.run({ [inputName]: image }))[outputName];
      if (!out) throw new Error(`${modelPath}: no output ${outputName}`);
      if (classes === 0) {
        classes = out.dims[1] ?? 0;
        logits = new Float32Array(data.count * classes);
      }
      logits.set(out.data as Float32Array, start * classes);
    }
    return { split, count: data.count, classes, logits, labels: data.labels };
  } finally {
    await session.release();
  }
}

export function accuracyOf(p: SplitPredictions): SplitAccuracy {
  const predicted = argmaxRows(p.logits, p.classes);
  const hits = new Array<number>(10).fill(0);
  const totals = new Array<number>(10).fill(0);
  let correct = 0;
  for (let i = 0; i < p.count; i++) {
    const label = p.labels[i]!;
    totals[label]!++;
    if (predicted[i] === label) {
      correct++;
      hits[label]!++;
    }
  }
  return {
    split: p.split,
    count: p.count,
    correct,
    accuracy: correct / p.count,
    perClass: totals.map((t, k) => (t === 0 ? 0 : hits[k]! / t)),
  };
}

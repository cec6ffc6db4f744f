/**
 * The committed digits model zoo as seen from TypeScript: where the ONNX files are, the metadata the
 * training script recorded (models/digits/zoo.json), and batched evaluation under onnxruntime-node.
 * Used by models/models.test.ts, bench/models.ts and models/digits-shifts.ts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DigitsData } from '@fogline/shared/digits';
import * as ort from 'onnxruntime-node';

/** The printed-digit probe set lives with the digits data (shared/src/digits/printed.ts). */
export { loadPrintedDigits } from '@fogline/shared/digits';

export const DIGITS_MODELS = ['digits-tiny', 'digits-mid', 'digits-large'] as const;
export type DigitsModelName = (typeof DIGITS_MODELS)[number];

export interface ZooModelRecord {
  params: number;
  macs: number;
  flops: number;
  onnx_bytes: number;
  onnx_ops: string[];
  opset: number;
  accuracy: { dev: number; calibration: number; test: number; printed: number };
}

export interface ZooRecord {
  seed: number;
  split_seed: number;
  training: Record<string, number | null>;
  models: Record<DigitsModelName, ZooModelRecord>;
}

const PIXELS = 28 * 28;

export function modelPath(name: DigitsModelName, version = 1): string {
  return fileURLToPath(new URL(`./${name}/${version}/model.onnx`, import.meta.url));
}

export function readZoo(): ZooRecord {
  return JSON.parse(readFileSync(new URL('./digits/zoo.json', import.meta.url), 'utf8')) as ZooRecord;
}

export function openSession(name: DigitsModelName, threads = 1): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath(name), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
}

/** Runs samples [start, start+count) of `data` through the session; returns logits (count×10). */
export async function runLogits(
  session: ort.InferenceSession,
  data: DigitsData,
  start: number,
  count: number,
): Promise<Float32Array> {
  const images = data.images.subarray(start * PIXELS, (start + count) * PIXELS);
  const feeds = { image: new ort.Tensor('float32', images, [count, 1, 28, 28]) };
  const out = await session.run(feeds);
  const logits = out.logits;
  if (!logits) throw new Error('model has no "logits" output');
  return logits.data as Float32Array;
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let k = 1; k < row.length; k++) if ((row[k] ?? 0) > (row[best] ?? 0)) best = k;
  return best;
}

/** Top-1 accuracy over the whole split, in batches of `batch`. */
export async function evaluate(
  session: ort.InferenceSession,
  data: DigitsData,
  batch = 250,
): Promise<number> {
  let correct = 0;
  for (let start = 0; start < data.count; start += batch) {
    const n = Math.min(batch, data.count - start);
    const logits = await runLogits(session, data, start, n);
    for (let i = 0; i < n; i++) {
      if (argmax(logits.subarray(i * 10, i * 10 + 10)) === data.labels[start + i]) correct++;
    }
  }
  return correct / data.count;
}

/**
 * The quantization report: size ratio, accuracy of fp32 and int8 on each sample set, top-1
 * agreement between them, and the int8/fp32 latency ratio at batch 1 and 64 (medians of
 * interleaved runs, so both models see the same machine load).
 */
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import { batchOf, type Dataset } from '../dataset/dataset.ts';
import { type EvaluatedModel, evaluateSession } from '../evaluate/evaluate-model.ts';
import { inputTensor, openSession } from './model-runner.ts';
import type { QuantizedModel } from './quantize-model.ts';

export interface SetComparison {
  readonly source: string;
  readonly count: number;
  /** null when the samples carry no labels. */
  readonly fp32Accuracy: number | null;
  readonly int8Accuracy: number | null;
  /** fp32 − int8 accuracy, in percentage points. */
  readonly accuracyDropPp: number | null;
  /** Share of samples whose int8 top-1 class equals the fp32 one. */
  readonly agreement: number;
}

export interface LatencyComparison {
  readonly batch: number;
  readonly fp32Ms: number;
  readonly int8Ms: number;
  /** int8 / fp32 median latency (< 1 = int8 faster). */
  readonly ratio: number;
}

export interface QuantizeReport {
  readonly input: string;
  readonly output: string;
  readonly settings: string;
  readonly fp32Bytes: number;
  readonly int8Bytes: number;
  readonly sizeRatio: number;
  readonly quantized: QuantizedModel['quantized'];
  readonly skipped: QuantizedModel['skipped'];
  readonly activations: number;
  readonly runtimeOps: QuantizedModel['runtimeOps'];
  readonly comparisons: readonly SetComparison[];
  readonly latency: readonly LatencyComparison[];
  readonly environment: { readonly cpu: string; readonly arch: string; readonly onnxruntime: string };
}

/** Runs `body` with a session on the float model and one on the quantized model, released after. */
async function withSessions<T>(
  fp32: Uint8Array,
  int8: Uint8Array,
  body: (a: ort.InferenceSession, b: ort.InferenceSession) => Promise<T>,
): Promise<T> {
  const a = await openSession(fp32, 'the float model');
  const b = await openSession(int8, 'the quantized model');
  try {
    return await body(a, b);
  } finally {
    await Promise.all([a.release(), b.release()]);
  }
}

export async function compareOnSets(
  fp32: Uint8Array,
  int8: Uint8Array,
  model: EvaluatedModel,
  sets: readonly Dataset[],
): Promise<SetComparison[]> {
  return withSessions(fp32, int8, async (a, b) => {
    const out: SetComparison[] = [];
    for (const set of sets) {
      const ea = await evaluateSession(a, model, set);
      const eb = await evaluateSession(b, model, set);
      let same = 0;
      for (let i = 0; i < set.count; i++) if (ea.predicted[i] === eb.predicted[i]) same++;
      const fp32Accuracy = ea.accuracy;
      const int8Accuracy = eb.accuracy;
      const accuracyDropPp =
        fp32Accuracy === null || int8Accuracy === null ? null : (fp32Accuracy - int8Accuracy) * 100;
      out.push({
        source: set.source,
        count: set.count,
        fp32Accuracy,
        int8Accuracy,
        accuracyDropPp,
        agreement: same / set.count,
      });
    }
    return out;
  });
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median latency of both models per batch size; runs alternate between the two models. */
export async function compareLatency(
  fp32: Uint8Array,
  int8: Uint8Array,
  model: EvaluatedModel,
  samples: Dataset,
  batches: readonly number[] = [1, 64],
  runsFor: (batch: number) => number = (b) => (b === 1 ? 300 : 60),
): Promise<LatencyComparison[]> {
  return withSessions(fp32, int8, async (a, b) => {
    const out: LatencyComparison[] = [];
    for (const batch of batches) {
      const n = Math.min(batch, samples.count);
      const input = model.inputs[0]!;
      const feed = { [input.name]: inputTensor(input, batchOf(samples, 0, n), [n, ...samples.sampleDims]) };
      const time = async (s: ort.InferenceSession): Promise<number> => {
        const t0 = performance.now();
        await s.run(feed);
        return performance.now() - t0;
      };
      const runs = runsFor(batch);
      for (let i = 0; i < Math.max(3, runs / 10); i++) {
        await time(a);
        await time(b);
      }
      const ta: number[] = [];
      const tb: number[] = [];
      for (let i = 0; i < runs; i++) {
        ta.push(await time(a));
        tb.push(await time(b));
      }
      const fp32Ms = median(ta);
      const int8Ms = median(tb);
      out.push({ batch: n, fp32Ms, int8Ms, ratio: int8Ms / fp32Ms });
    }
    return out;
  });
}

export function environment(): QuantizeReport['environment'] {
  const versions = (ort.env as { versions?: Record<string, string> }).versions ?? {};
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    arch: process.arch,
    onnxruntime: versions.node ?? versions.common ?? 'unknown',
  };
}

const pct = (v: number | null): string => (v === null ? '–' : `${(v * 100).toFixed(2)} %`);

export function quantizeReportMarkdown(r: QuantizeReport): string {
  const ops = Object.entries(r.runtimeOps)
    .map(([op, n]) => `${op} ×${n}`)
    .join(', ');
  const lines = [
    `# Quantization report: ${r.output}`,
    '',
    `- input: \`${r.input}\` (${r.fp32Bytes} bytes) → output: \`${r.output}\` (${r.int8Bytes} bytes)`,
    `- settings: ${r.settings}`,
    `- **size ratio: ${(r.sizeRatio * 100).toFixed(1)} %** of fp32`,
    `- quantized nodes: ${r.quantized.map((q) => `${q.op} ${q.node}`).join(', ')}`,
    `- left in float: ${r.skipped.length === 0 ? 'none' : r.skipped.map((s) => `${s.op} ${s.node} (${s.reason})`).join(', ')}`,
    `- onnxruntime runs (after its QDQ fusions): ${ops}`,
    `- environment: ${r.environment.cpu}, ${r.environment.arch}, onnxruntime-node ${r.environment.onnxruntime}`,
    '',
    '| samples | n | fp32 accuracy | int8 accuracy | drop (pp) | top-1 agreement |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.comparisons.map(
      (c) =>
        `| ${c.source} | ${c.count} | ${pct(c.fp32Accuracy)} | ${pct(c.int8Accuracy)} | ${c.accuracyDropPp === null ? '–' : c.accuracyDropPp.toFixed(2)} | ${pct(c.agreement)} |`,
    ),
    '',
    '| batch | fp32 median (ms) | int8 median (ms) | int8 / fp32 |',
    '|---:|---:|---:|---:|',
    ...r.latency.map(
      (l) => `| ${l.batch} | ${l.fp32Ms.toFixed(3)} | ${l.int8Ms.toFixed(3)} | ${l.ratio.toFixed(2)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

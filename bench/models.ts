/**
 * `npm run bench -- models`: latency of each digits model under onnxruntime-node (CPU, 1 intra-op
 * thread), single digit and batch of 64, p50/p95 over repeated runs on real test digits.
 * Writes bench/reports/models.json and bench/reports/models.md. Also reports each model's latency
 * as a ratio to digits-tiny measured in the same run, since this machine is shared and noisy.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { loadDigits } from '@fogline/shared/digits';
import {
  DIGITS_MODELS,
  type DigitsModelName,
  openSession,
  readZoo,
  runLogits,
} from '../models/digits-zoo.ts';

const SINGLE_RUNS = 400;
const BATCH = 64;
const BATCH_RUNS = 40;
const WARMUP = 20;

interface LatencyStats {
  p50Ms: number;
  p95Ms: number;
  perSampleP50Ms: number;
}

interface ModelBench {
  model: DigitsModelName;
  flops: number;
  onnxBytes: number;
  testAccuracy: number;
  printedAccuracy: number;
  single: LatencyStats;
  batch64: LatencyStats;
  singleVsTiny: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function measure(
  run: (i: number) => Promise<unknown>,
  runs: number,
  perCall: number,
): Promise<LatencyStats> {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await run(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  const p50 = quantile(times, 0.5);
  return { p50Ms: p50, p95Ms: quantile(times, 0.95), perSampleP50Ms: p50 / perCall };
}

const round = (x: number, d = 3): number => Number(x.toFixed(d));

function markdown(results: ModelBench[], when: string): string {
  const rows = results.map(
    (r) =>
      `| ${r.model} | ${(r.testAccuracy * 100).toFixed(2)} % | ${(r.printedAccuracy * 100).toFixed(1)} % | ${(r.flops / 1e6).toFixed(2)} | ${(r.onnxBytes / 1024).toFixed(1)} | ` +
      `${r.single.p50Ms.toFixed(3)} | ${r.single.p95Ms.toFixed(3)} | ${r.batch64.p50Ms.toFixed(2)} | ` +
      `${r.batch64.perSampleP50Ms.toFixed(4)} | ${r.singleVsTiny.toFixed(1)}× |`,
  );
  return [
    '# Digits models: latency under onnxruntime-node',
    '',
    `Measured ${when} on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores, shared), onnxruntime-node CPU, ` +
      `1 intra-op thread, graph optimisation "all". Single: ${SINGLE_RUNS} runs of one test digit; batch: ` +
      `${BATCH_RUNS} runs of ${BATCH} test digits; ${WARMUP} warm-up runs each. Regenerate: \`npm run bench -- models\`.`,
    '',
    '| model | test acc | printed acc | MFLOPs | ONNX KiB | single p50 ms | single p95 ms | batch-64 p50 ms | per sample in batch-64 ms | single vs tiny |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

export default async function run(): Promise<void> {
  const test = loadDigits('test');
  const zoo = readZoo().models;
  const results: ModelBench[] = [];
  for (const name of DIGITS_MODELS) {
    const session = await openSession(name, 1);
    const single = await measure((i) => runLogits(session, test, i % test.count, 1), SINGLE_RUNS, 1);
    const batch64 = await measure(
      (i) => runLogits(session, test, (i * BATCH) % (test.count - BATCH), BATCH),
      BATCH_RUNS,
      BATCH,
    );
    await session.release();
    results.push({
      model: name,
      flops: zoo[name].flops,
      onnxBytes: zoo[name].onnx_bytes,
      testAccuracy: zoo[name].accuracy.test,
      printedAccuracy: zoo[name].accuracy.printed,
      single,
      batch64,
      singleVsTiny: 1,
    });
    console.log(
      `${name}: single p50 ${single.p50Ms.toFixed(3)} ms, batch-64 p50 ${batch64.p50Ms.toFixed(2)} ms ` +
        `(${batch64.perSampleP50Ms.toFixed(4)} ms/sample)`,
    );
  }
  const tiny = results[0]?.single.p50Ms ?? 1;
  for (const r of results) r.singleVsTiny = r.single.p50Ms / tiny;
  const when = new Date().toISOString();
  const reports = new URL('./reports/', import.meta.url);
  mkdirSync(reports, { recursive: true });
  const json = results.map((r) => ({
    ...r,
    single: {
      p50Ms: round(r.single.p50Ms),
      p95Ms: round(r.single.p95Ms),
      perSampleP50Ms: round(r.single.perSampleP50Ms),
    },
    batch64: {
      p50Ms: round(r.batch64.p50Ms),
      p95Ms: round(r.batch64.p95Ms),
      perSampleP50Ms: round(r.batch64.perSampleP50Ms, 4),
    },
    singleVsTiny: round(r.singleVsTiny, 2),
  }));
  const meta = {
    measuredAt: when,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    intraOpThreads: 1,
  };
  writeFileSync(new URL('models.json', reports), `${JSON.stringify({ ...meta, models: json }, null, 2)}\n`);
  writeFileSync(new URL('models.md', reports), markdown(results, when));
  console.log('wrote bench/reports/models.json and bench/reports/models.md');
}

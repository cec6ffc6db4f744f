/**
 * `npm run bench -- models`: latency of each digits model under onnxruntime-node (CPU, 1 intra-op
 * thread), one digit and a batch of 64, p50/p95 over repeated runs on real test digits, and each
 * model's single-digit p50 as a ratio to digits-tiny's measured in the same run (the box is shared).
 */
import { loadDigits } from '@fogline/shared/digits-dataset';
import {
  DIGITS_MODELS,
  type DigitsModelName,
  openSession,
  readZoo,
  runLogits,
} from '../models/digits-zoo.ts';
import { machine, machineLine, table, writeReport } from './lib/report.ts';
import { quantile, round } from './lib/stats.ts';

const SINGLE_RUNS = 400;
const BATCH = 64;
const BATCH_RUNS = 40;
const WARMUP = 20;

interface LatencyStats {
  p50Ms: number;
  p95Ms: number;
  perSampleP50Ms: number;
}

async function measure(
  run: (i: number) => Promise<unknown>,
  runs: number,
  perCall: number,
): Promise<LatencyStats> {
  for (let i = 0; i < WARMUP; i++) await run(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const p50 = quantile(times, 0.5);
  return { p50Ms: round(p50), p95Ms: round(quantile(times, 0.95)), perSampleP50Ms: round(p50 / perCall, 4) };
}

export default async function run(): Promise<void> {
  const test = loadDigits('test');
  const zoo = readZoo().models;
  const results = [];
  for (const name of DIGITS_MODELS as readonly DigitsModelName[]) {
    const session = await openSession(name, 1);
    const single = await measure((i) => runLogits(session, test, i % test.count, 1), SINGLE_RUNS, 1);
    const batch64 = await measure(
      (i) => runLogits(session, test, (i * BATCH) % (test.count - BATCH), BATCH),
      BATCH_RUNS,
      BATCH,
    );
    await session.release();
    const { flops, onnx_bytes: onnxBytes, accuracy } = zoo[name];
    results.push({
      model: name,
      flops,
      onnxBytes,
      testAccuracy: accuracy.test,
      printedAccuracy: accuracy.printed,
      single,
      batch64,
    });
    console.log(`${name}: single p50 ${single.p50Ms} ms, batch-64 p50 ${batch64.p50Ms} ms`);
  }
  const tiny = results[0]!.single.p50Ms;
  const models = results.map((r) => ({ ...r, singleVsTiny: round(r.single.p50Ms / tiny, 2) }));
  const report = { at: new Date().toISOString(), machine: machine(), intraOpThreads: 1, models };
  const rows = models.map(
    (r) =>
      `${r.model} | ${(r.testAccuracy * 100).toFixed(2)} % | ${(r.printedAccuracy * 100).toFixed(1)} % | ${(r.flops / 1e6).toFixed(2)} | ${(r.onnxBytes / 1024).toFixed(1)} | ${r.single.p50Ms.toFixed(3)} | ${r.single.p95Ms.toFixed(3)} | ${r.batch64.p50Ms.toFixed(2)} | ${r.batch64.perSampleP50Ms.toFixed(4)} | ${r.singleVsTiny.toFixed(1)}×`,
  );
  const md = `# Digits models: latency under onnxruntime-node

${machineLine(report.at, report.machine)} · command: \`npm run bench -- models\`

onnxruntime-node CPU, 1 intra-op thread, graph optimisation "all". Single: ${SINGLE_RUNS} runs of one test digit; batch: ${BATCH_RUNS} runs of ${BATCH} test digits; ${WARMUP} warm-up runs each.

${table('model | test acc | printed acc | MFLOPs | ONNX KiB | single p50 ms | single p95 ms | batch-64 p50 ms | per sample in batch-64 ms | single vs tiny', rows)}
`;
  writeReport('models', report, md);
}

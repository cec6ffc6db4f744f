/**
 * `npm run bench -- models`: each digits model under raw onnxruntime-node (1 intra-op thread), one
 * test digit and a batch of 64, and its single-digit p50 as a ratio to digits-tiny's in the same run.
 */
import { DIGITS_MODELS, modelPath, readZoo } from '../models/digits-zoo.ts';
import { openRaw } from './lib/raw-onnx.ts';
import { machineLine, reportHead, table, writeReport } from './lib/report.ts';
import { round } from './lib/stats.ts';

const HEAD =
  'model | test acc | printed acc | MFLOPs | ONNX KiB | single p50 ms | single p99 ms | batch-64 p50 ms | per sample in batch-64 ms | single vs tiny';

export default async function run(args: string[] = []): Promise<void> {
  const zoo = readZoo().models;
  const results = [];
  for (const name of DIGITS_MODELS) {
    const raw = await openRaw({ modelPath: modelPath(name), sessions: 1, intraOpThreads: 1, spin: false });
    const single = await raw.single(1000);
    const batch64 = (await raw.measure(64, 1500)).run;
    await raw.close();
    const { flops, onnx_bytes: onnxBytes, accuracy } = zoo[name];
    results.push({
      model: name,
      flops,
      onnxBytes,
      accuracy,
      single,
      batch64,
      perSampleInBatch64Ms: batch64.p50Ms / 64,
    });
    console.log(
      `${name}: single p50 ${single.p50Ms.toFixed(3)} ms, batch-64 p50 ${batch64.p50Ms.toFixed(2)} ms`,
    );
  }
  const tiny = results[0]!.single.p50Ms;
  const models = results.map((r) => ({ ...r, singleVsTiny: round(r.single.p50Ms / tiny, 2) }));
  const report = { ...reportHead('models', args), intraOpThreads: 1, models };
  const row = (r: (typeof models)[number]) =>
    `${r.model} | ${(r.accuracy.test * 100).toFixed(2)} % | ${(r.accuracy.printed * 100).toFixed(1)} % | ${(r.flops / 1e6).toFixed(2)} | ${(r.onnxBytes / 1024).toFixed(1)} | ${r.single.p50Ms.toFixed(3)} | ${r.single.p99Ms.toFixed(3)} | ${r.batch64.p50Ms.toFixed(2)} | ${r.perSampleInBatch64Ms.toFixed(4)} | ${r.singleVsTiny.toFixed(1)}×`;
  writeReport(
    'models',
    report,
    `# Digits models: latency under onnxruntime-node

${machineLine(report.at, report.machine)} · command: \`${report.command}\`

Raw onnxruntime-node on CPU, 1 intra-op thread, graph optimisation "all", each model in its own process (bench/lib/raw-session.ts): one test digit back to back for 1 s, then a batch of 64 test digits for 1.5 s, after 3 warm-up runs each.

${table(HEAD, models.map(row))}
`,
  );
}

/**
 * Raw onnxruntime-node baseline for the fabric bench: the edge model run directly, with the session
 * settings of the edge's inference workers (shared/src/runtime/inference-worker.mjs: intra-op threads,
 * one inter-op thread, sequential, all graph optimisations, no spinning), `sessions` of them at once,
 * each in its own worker thread like the edge's pool. Gives samples/s per batch size and the
 * single-sample latency.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { type LatencySummary, summarize } from './fabric-stats.ts';

export interface RawPoint {
  readonly batch: number;
  readonly samplesPerSec: number;
  /** Per-run latency at this batch size (all sessions pooled). */
  readonly run: LatencySummary;
}

export interface RawMeasurement {
  readonly sessions: number;
  readonly intraOpThreads: number;
  readonly points: RawPoint[];
  readonly best: RawPoint;
  /** Batch-1 run latency: the edge model's own inference time for one sample. */
  readonly single: LatencySummary;
}

// Plain CommonJS (eval'd worker): no TypeScript loader in worker threads started from a string.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
(async () => {
  const session = await ort.InferenceSession.create(workerData.modelPath, {
    intraOpNumThreads: workerData.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const input = session.inputNames[0];
  parentPort.postMessage({ type: 'ready' });
  parentPort.on('message', async ({ batch, ms }) => {
    const tensor = new ort.Tensor('float32', workerData.images.subarray(0, batch * 784), [batch, 1, 28, 28]);
    for (let i = 0; i < 3; i++) await session.run({ [input]: tensor });
    const times = [];
    const start = performance.now();
    while (performance.now() - start < ms || times.length < 3) {
      const t0 = performance.now();
      await session.run({ [input]: tensor });
      times.push(performance.now() - t0);
    }
    parentPort.postMessage({ type: 'done', times, elapsed: performance.now() - start });
  });
})().catch((err) => parentPort.postMessage({ type: 'error', message: String(err) }));
`;

interface Done {
  times: number[];
  elapsed: number;
}

function once<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', (msg: { type: string; message?: string }) =>
      msg.type === 'error' ? reject(new Error(msg.message)) : resolve(msg as T),
    );
    worker.once('error', reject);
  });
}

export async function measureRaw(options: {
  modelPath: string;
  sessions: number;
  intraOpThreads: number;
  images: Float32Array;
  batches: readonly number[];
  msPerBatch: number;
}): Promise<RawMeasurement> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const workers = Array.from(
    { length: options.sessions },
    () =>
      new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: {
          ortPath,
          modelPath: options.modelPath,
          intraOpThreads: options.intraOpThreads,
          images: options.images,
        },
      }),
  );
  try {
    await Promise.all(workers.map((w) => once(w)));
    const points: RawPoint[] = [];
    for (const batch of options.batches) {
      const results = await Promise.all(
        workers.map((w) => {
          const done = once<Done>(w);
          w.postMessage({ batch, ms: options.msPerBatch });
          return done;
        }),
      );
      const samples = results.reduce((n, r) => n + r.times.length * batch, 0);
      const elapsed = Math.max(...results.map((r) => r.elapsed));
      points.push({
        batch,
        samplesPerSec: (samples * 1000) / elapsed,
        run: summarize(results.flatMap((r) => r.times)),
      });
    }
    const best = points.reduce((a, b) => (b.samplesPerSec > a.samplesPerSec ? b : a));
    // Single-sample latency on one session alone, as the edge runs a lone request.
    const first = workers[0]!;
    const alone = once<Done>(first);
    first.postMessage({ batch: 1, ms: options.msPerBatch });
    const single = summarize((await alone).times);
    return { sessions: options.sessions, intraOpThreads: options.intraOpThreads, points, best, single };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * The probe: a model version's measured cost on this machine, as `sizeFromProbe` needs it. One
 * worker session per thread count runs zero inputs at a few batch sizes (the cost of a CNN does not
 * depend on its input values); each point is the median of a few runs, in about a second per model.
 *
 * Cached per model version and machine in `<dataDir>/engine-probes.json`: the key names the model
 * file's SHA-256, the cores, the CPU model and the onnxruntime version, so a restart reads it back
 * and any change of model or machine probes again. A cache file that cannot be read is ignored.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ModelConfig } from '../core/model-config.ts';
import { fileSha256 } from '../storage/file-sha256.ts';
import { mkdirPrivate, writePrivateFile } from '../storage/private-dir.ts';
import { zeroFeeds } from './batch-runner.ts';
import { createInferenceEngine } from './inference-engine.ts';
import type { EngineProbe, ProbePoint } from './probed-sizing.ts';

export interface ProbeOptions {
  /** Default 1, 8, 32 and max_batch_size (those within it). */
  readonly batchSizes?: readonly number[];
  /** Default 1, 2, 4, 8 up to the cores. */
  readonly threadCounts?: readonly number[];
  /** Wall-time budget of the runs, ms (session starts come on top). Default 1000. */
  readonly budgetMs?: number;
}

/** Probes of one process run one at a time: two at once would each measure the other's load. */
let probing: Promise<unknown> = Promise.resolve();

/** Runs the probe (≈ `budgetMs`) after any other of this process; a warm-up run precedes each point. */
export function probeModel(
  modelPath: string,
  config: ModelConfig,
  options: ProbeOptions = {},
): Promise<EngineProbe> {
  const run = probing.then(
    () => measure(modelPath, config, options),
    () => measure(modelPath, config, options),
  );
  probing = run.catch(() => {});
  return run;
}

async function measure(modelPath: string, config: ModelConfig, options: ProbeOptions): Promise<EngineProbe> {
  const started = performance.now();
  const cores = availableParallelism();
  const max = config.max_batch_size;
  const batches = [...new Set(options.batchSizes ?? [1, 8, 32, max])].filter((b) => b >= 1 && b <= max);
  const threads = (options.threadCounts ?? [1, 2, 4, 8]).filter((t) => t === 1 || t <= cores);
  const perPointMs = (options.budgetMs ?? 1000) / (batches.length * threads.length);
  const points: ProbePoint[] = [];
  for (const t of threads) {
    const engine = await createInferenceEngine({ modelPath, workers: 1, intraOpThreads: t });
    try {
      for (const batch of batches) {
        const feeds = zeroFeeds(config, batch);
        await engine.run(feeds); // warm: first-run allocation is not the model's cost
        const times: number[] = [];
        const until = performance.now() + perPointMs;
        while (times.length < 2 || (times.length < 50 && performance.now() < until)) {
          const start = performance.now();
          await engine.run(feeds);
          times.push(performance.now() - start);
        }
        times.sort((a, b) => a - b);
        // The lower median: on a shared machine the slow runs are other work's, not the model's.
        points.push({ threads: t, batch, ms: times[(times.length - 1) >> 1]! });
      }
    } finally {
      await engine.close();
    }
  }
  return { points, tookMs: Math.round(performance.now() - started) };
}

/** The cache key of a model file on this machine. */
export async function probeKey(modelPath: string): Promise<string> {
  const sha256 = await fileSha256(modelPath);
  const cpu = cpus()[0]?.model.trim() ?? 'unknown cpu';
  return `${sha256.slice(0, 16)}|${availableParallelism()} cores|${cpu}|onnxruntime ${ort.env.versions.node}`;
}

export const PROBE_CACHE_FILE = 'engine-probes.json';

/** The cached probe of `modelPath` on this machine, if there is one. */
export async function probeInCache(
  dataDir: string,
  modelPath: string,
  config: ModelConfig,
): Promise<EngineProbe | undefined> {
  const cache = await readCache(join(dataDir, PROBE_CACHE_FILE));
  return cache[`${config.name}|${await probeKey(modelPath)}`];
}

/** The cached probe of `modelPath` on this machine, else a fresh one (then cached). */
export async function cachedProbe(
  dataDir: string,
  modelPath: string,
  config: ModelConfig,
  options: ProbeOptions = {},
): Promise<{ probe: EngineProbe; cached: boolean }> {
  const file = join(dataDir, PROBE_CACHE_FILE);
  const key = `${config.name}|${await probeKey(modelPath)}`;
  const cache = await readCache(file);
  const hit = cache[key];
  if (hit) return { probe: hit, cached: true };
  const probe = await probeModel(modelPath, config, options);
  cache[key] = probe;
  await mkdirPrivate(dataDir);
  await writePrivateFile(file, `${JSON.stringify(cache, null, 1)}\n`);
  return { probe, cached: false };
}

async function readCache(file: string): Promise<Record<string, EngineProbe>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return {};
  }
  const out: Record<string, EngineProbe> = {};
  if (typeof parsed !== 'object' || parsed === null) return out;
  for (const [key, value] of Object.entries(parsed)) {
    const { points, tookMs } = (value ?? {}) as { points?: unknown; tookMs?: unknown };
    if (Array.isArray(points) && points.length > 0 && points.every(isPoint)) {
      out[key] = typeof tookMs === 'number' ? { points, tookMs } : { points };
    }
  }
  return out;
}

function isPoint(p: unknown): p is ProbePoint {
  const { threads, batch, ms } = (p ?? {}) as Record<string, unknown>;
  return (
    Number.isInteger(threads) &&
    (threads as number) >= 1 &&
    Number.isInteger(batch) &&
    (batch as number) >= 1 &&
    typeof ms === 'number' &&
    ms > 0 &&
    Number.isFinite(ms)
  );
}

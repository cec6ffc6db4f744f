/**
 * The probe: a model version's measured cost on this machine, as `sizeFromProbe` needs it. One
 * worker session per thread count runs zero inputs at a few batch sizes (the cost of a CNN does not
 * depend on its input values), in about a second per model. The batch sizes take turns, one run each
 * per round, and each point is its fastest run: other work on a shared machine only ever adds to a
 * run's time, and a burst of it slows a round of every batch size alike rather than all the runs of
 * one, which would turn the points' ratios (the sizing's input) upside down.
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
import {
  createInferenceEngine,
  type InferenceEngine,
  type InferenceEngineOptions,
} from './inference-engine.ts';
import type { EngineProbe, ProbePoint } from './probed-sizing.ts';

export interface ProbeOptions {
  /** Default 1, 8, 32 and max_batch_size (those within it). */
  readonly batchSizes?: readonly number[];
  /** Default 1, 2, 4, 8 up to the cores. */
  readonly threadCounts?: readonly number[];
  /** Wall-time budget of the runs, ms (session starts come on top). Default 1000. */
  readonly budgetMs?: number;
  /** Starts the session of one thread count. Default `createInferenceEngine` (one worker). */
  readonly createEngine?: (options: InferenceEngineOptions) => Promise<InferenceEngine>;
}

/** Rounds per thread count: at least this many, at most MAX_ROUNDS while the budget lasts. */
const MIN_ROUNDS = 2;
const MAX_ROUNDS = 50;

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
  const budgetMs = (options.budgetMs ?? 1000) / threads.length;
  const createEngine = options.createEngine ?? createInferenceEngine;
  const points: ProbePoint[] = [];
  for (const t of threads) {
    const engine = await createEngine({ modelPath, workers: 1, intraOpThreads: t });
    try {
      const feeds = batches.map((batch) => zeroFeeds(config, batch));
      // Warm: first-run allocation is not the model's cost.
      for (const f of feeds) await engine.run(f);
      const fastest = batches.map(() => Number.POSITIVE_INFINITY);
      const until = performance.now() + budgetMs;
      for (let round = 0; round < MIN_ROUNDS || (round < MAX_ROUNDS && performance.now() < until); round++) {
        for (const [i, f] of feeds.entries()) {
          const start = performance.now();
          await engine.run(f);
          fastest[i] = Math.min(fastest[i]!, performance.now() - start);
        }
      }
      points.push(...batches.map((batch, i) => ({ threads: t, batch, ms: fastest[i]! })));
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

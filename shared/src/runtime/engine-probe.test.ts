import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR, loadModelEntry, type ModelEntry } from '../model-repository/index.ts';
import { cachedProbe, PROBE_CACHE_FILE, probeModel } from './engine-probe.ts';
import { createInferenceEngine, type InferenceEngineOptions } from './inference-engine.ts';
import { ModelInstance } from './model-instance.ts';
import { sizeFromProbe } from './probed-sizing.ts';

describe('engine probe on the real digits-mid-int8', () => {
  let entry: ModelEntry;
  let dataDir: string;
  const options = { batchSizes: [1, 8, 32], threadCounts: [1], budgetMs: 200 };

  beforeAll(async () => {
    entry = await loadModelEntry(DEFAULT_MODELS_DIR, 'digits-mid-int8');
    dataDir = await mkdtemp(join(tmpdir(), 'fogline-probe-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('measures every batch size, costs more for a bigger batch, and sizes from it', async () => {
    const { probe, cached } = await cachedProbe(dataDir, entry.modelPath(1), entry.config, options);
    expect(cached).toBe(false);
    expect(probe.points.map((p) => p.batch)).toEqual([1, 8, 32]);
    const ms = (b: number) => probe.points.find((p) => p.batch === b)!.ms;
    expect(ms(32)).toBeGreaterThan(ms(1));
    const s = sizeFromProbe({ probe, cores: 2, tier: 'edge', maxBatchSize: entry.config.max_batch_size });
    expect([s.workers, s.intraOpThreads]).toEqual([1, 1]);
  });

  it('keeps a bigger batch dearer through a burst of other work on the machine', async () => {
    // The session shares its core with other work for its first BURST_MS, the probe's budget: every
    // run started then waits STALL_MS more. Measured one batch size after another, the burst fell on
    // the batch-1 runs alone and made batch 1 look dearer than 32.
    const BURST_MS = 1000;
    const STALL_MS = 100;
    const createEngine = async (o: InferenceEngineOptions) => {
      const engine = await createInferenceEngine(o);
      const burstEnds = performance.now() + BURST_MS;
      const run = engine.run.bind(engine);
      return Object.assign(engine, {
        run: async (...args: Parameters<typeof run>) => {
          if (performance.now() < burstEnds) await sleep(STALL_MS);
          return run(...args);
        },
      });
    };
    const probe = await probeModel(entry.modelPath(1), entry.config, {
      ...options,
      budgetMs: BURST_MS,
      createEngine,
    });
    const ms = (b: number) => probe.points.find((p) => p.batch === b)!.ms;
    expect(ms(32)).toBeGreaterThan(ms(1));
  });

  it('reads the probe back from the data dir instead of probing again', async () => {
    const first = JSON.parse(await readFile(join(dataDir, PROBE_CACHE_FILE), 'utf8'));
    const again = await cachedProbe(dataDir, entry.modelPath(1), entry.config, options);
    expect(again.cached).toBe(true);
    expect(again.probe).toEqual(Object.values(first)[0]);
  });

  it('probes again when the cache file is not a probe cache', async () => {
    await writeFile(join(dataDir, PROBE_CACHE_FILE), '{"x": {"points": [{"threads": "many"}]}}');
    const again = await cachedProbe(dataDir, entry.modelPath(1), entry.config, options);
    expect(again.cached).toBe(false);
    expect(again.probe.points).toHaveLength(3);
  });

  it('sizes a model instance from the probe at load, says why in one line, and serves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fogline-probe-load-'));
    try {
      const load = () =>
        ModelInstance.load(entry, 1, {
          tier: 'edge',
          sizing: 'probe',
          probeDir: dir,
          probeOptions: options,
          cores: 2,
          maxQueueDelayMs: 1.5, // a flag wins over the probe
        });
      const first = await load();
      expect([first.engine.workers, first.engine.intraOpThreads]).toEqual([1, 1]);
      expect(first.batching.adaptiveQueueDelay).toBe(true);
      expect(first.batching.maxQueueDelayMs).toBe(1.5);
      expect(first.sizingLine).toMatch(
        /^digits-mid-int8:1: edge sizing from the probe: 1 worker\(s\) × 1 thread\(s\).*probed in \d+ ms/,
      );
      const out = await first.infer({ batch: 1, inputs: [new Uint8Array(28 * 28 * 4)] });
      expect(Object.values(out)[0]!.dims[0]).toBe(1);
      await first.retire();
      const second = await load();
      expect(second.sizingLine).toContain('probe read from the cache');
      await second.retire();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

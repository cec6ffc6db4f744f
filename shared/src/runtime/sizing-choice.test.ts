import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS_DIR, loadModelEntry, type ModelEntry } from '../model-repository/index.ts';
import { PROBE_CACHE_FILE, probeKey } from './engine-probe.ts';
import type { EngineProbe } from './probed-sizing.ts';
import { chooseSizing } from './sizing-choice.ts';

/** A fixed probe, put in the cache under this machine's key so no probe runs. */
const PROBE: EngineProbe = {
  points: [
    { threads: 1, batch: 1, ms: 0.5 },
    { threads: 1, batch: 8, ms: 2 },
    { threads: 1, batch: 32, ms: 6 },
    { threads: 1, batch: 64, ms: 11 },
    { threads: 2, batch: 1, ms: 0.4 },
    { threads: 2, batch: 8, ms: 1.8 },
    { threads: 2, batch: 32, ms: 5.5 },
    { threads: 2, batch: 64, ms: 10 },
  ],
};

describe('chooseSizing: what wins', () => {
  let entry: ModelEntry;
  let dir: string;
  const at = (name: string) => loadModelEntry(DEFAULT_MODELS_DIR, name);

  beforeAll(async () => {
    entry = await at('digits-mid'); // config.json: preferred [16, 32, 64], max_queue_delay_ms 2
    dir = await mkdtemp(join(tmpdir(), 'fogline-sizing-'));
    const key = `${entry.config.name}|${await probeKey(entry.modelPath(1))}`;
    await writeFile(join(dir, PROBE_CACHE_FILE), JSON.stringify({ [key]: PROBE }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const choose = (request: Parameters<typeof chooseSizing>[3]) =>
    chooseSizing(entry.config, 1, entry.modelPath(1), { probeDir: dir, cores: 16, ...request });

  it('by default applies the core-count rule of the tier and leaves batching to config.json', async () => {
    const cloud = await choose({});
    expect([cloud.workers, cloud.intraOpThreads]).toEqual([7, 2]);
    expect(cloud.batching.adaptiveQueueDelay).toBeUndefined();
    const edge = await choose({ tier: 'edge' });
    expect([edge.workers, edge.intraOpThreads]).toEqual([15, 1]);
    expect(edge.line).toMatch(/^digits-mid:1: edge sizing default/);
  });

  it('under probe sizes from the probe, and config.json keeps the batching it names', async () => {
    const s = await choose({ sizing: 'probe' });
    expect(s.line).toContain('probe read from the cache');
    // 5.8k samples/s per single-thread session (2 threads scale 0.55): 3 feed one event loop × 1.5.
    expect([s.workers, s.intraOpThreads]).toEqual([3, 1]);
    expect(s.batching).toMatchObject({
      preferredBatchSizes: [16, 32, 64],
      maxQueueDelayMs: 2,
      adaptiveQueueDelay: true,
    });
  });

  it('under probe lets flags win over config.json and the probe', async () => {
    const s = await choose({
      sizing: 'probe',
      workers: 3,
      intraOpThreads: 2,
      preferredBatchSizes: [8],
      maxQueueDelayMs: 0.5,
    });
    expect([s.workers, s.intraOpThreads]).toEqual([3, 2]);
    expect(s.batching).toMatchObject({ preferredBatchSizes: [8], maxQueueDelayMs: 0.5 });
    expect(s.line).toContain('overridden: --workers 3, --intra-op-threads 2');
  });

  it('fills from the probe what a config.json leaves open', async () => {
    const open = {
      ...entry.config,
      dynamic_batching: { ...entry.config.dynamic_batching, preferred_batch_size: [], max_queue_delay_ms: 0 },
    };
    const s = await chooseSizing(open, 1, entry.modelPath(1), { probeDir: dir, cores: 16, sizing: 'probe' });
    // The knee: batch 8 runs 0.69 of the best per-sample rate, 32 runs 0.92; one batch of 32 takes 6 ms.
    expect(s.batching.preferredBatchSizes).toEqual([32, 64]);
    expect(s.batching.maxQueueDelayMs).toBe(6);
  });
});

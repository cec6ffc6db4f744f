/** What calibration writes into a config.json: routing and the drift reference, nothing else touched. */
import { mkdtempSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig, psi } from '@fogline/shared';
import { mountTmpfs, unmountTmpfs } from '@fogline/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCalibratedConfig } from './calibrated-config.ts';
import { driftReferenceOf } from './drift-reference.ts';

const CONFIG = {
  name: 'm',
  tier: 'device',
  platform: 'onnxruntime_onnx',
  max_batch_size: 1,
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
  routing: { score: 'maxprob', threshold: null },
  labels: ['a', 'b', 'c'],
};

/** 1000 margins: 30 % exactly 1 (certain), the rest spread over [0, 0.95). */
const margins = Float64Array.from({ length: 1000 }, (_, i) => (i < 300 ? 1 : ((i - 300) / 700) * 0.95));

describe('drift reference', () => {
  it('bins the scores at their quantiles, the point mass at 1 in a bin of its own, shares summing to 1', () => {
    const d = driftReferenceOf(margins, 'margin', { name: 'm', version: 3 });
    expect(d).toMatchObject({ score: 'margin', model: 'm', version: 3, records: 1000 });
    expect(d.bins.length).toBe(d.reference.length + 1);
    expect(d.reference.at(-1)).toBeCloseTo(0.3, 12);
    expect(d.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(psi(d.reference, d.reference)).toBe(0);
  });

  it('is written beside the routing and survives a later rewrite of the routing alone', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'fogline-calibrated-')), 'config.json');
    await writeFile(file, JSON.stringify({ ...CONFIG, description: 'kept' }));
    const drift = driftReferenceOf(margins, 'margin', { name: 'm', version: 1 });
    await writeCalibratedConfig(file, { routing: { score: 'margin', threshold: 0.4 }, drift });
    await writeCalibratedConfig(file, { routing: { score: 'margin', threshold: Infinity } });
    const raw = JSON.parse(await readFile(file, 'utf8'));
    const config = parseModelConfig(raw, file, 'm');
    expect(config.drift).toEqual(drift);
    expect(config.routing).toEqual({ score: 'margin', threshold: 1.01 });
    expect(config.description).toBe('kept');
  });
});

/** A real 64 KiB tmpfs, so that a write finds a real full disk; or why there is none (needs root). */
function smallDisk(): { dir: string; unmount: () => void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'fogline-calibrated-disk-'));
  return mountTmpfs(dir, 'size=64k') ?? { dir, unmount: () => unmountTmpfs(dir) };
}

describe('a config.json on a full disk', () => {
  const disk = smallDisk();
  afterAll(() => (typeof disk === 'string' ? undefined : disk.unmount()));

  it.skipIf(typeof disk === 'string')(
    `is left as it was, the disk named (RESOURCE_EXHAUSTED)${typeof disk === 'string' ? ` (skipped: ${disk})` : ''}`,
    async () => {
      if (typeof disk === 'string') return;
      const file = join(disk.dir, 'config.json');
      // One page of config now; with the drift reference it takes two, which the full disk lacks.
      const before = JSON.stringify({ ...CONFIG, description: 'x'.repeat(3500) });
      await writeFile(file, before);
      const filler = join(disk.dir, 'filler');
      await writeFile(filler, Buffer.alloc(128 * 1024)).catch(() => {}); // fills the disk up
      const drift = driftReferenceOf(margins, 'margin', { name: 'm', version: 1 });
      await expect(
        writeCalibratedConfig(file, { routing: { score: 'margin', threshold: 0.4 }, drift }),
      ).rejects.toMatchObject({
        code: 'RESOURCE_EXHAUSTED',
        message: expect.stringMatching(
          /is full \(ENOSPC: no space left on device\) while writing .*config\.json; it is as it was$/,
        ),
      });
      expect(await readFile(file, 'utf8')).toBe(before);
      expect((await readdir(disk.dir)).sort()).toEqual(['config.json', 'filler']);
    },
  );
});

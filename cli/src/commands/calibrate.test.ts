import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../testing/run-fogline.ts';

const MODELS = ['digits-tiny', 'digits-mid', 'digits-large'];

async function writeSplit(file: string, split: 'calibration' | 'test', count: number): Promise<void> {
  const d = loadDigits(split);
  const data = Array.from(d.images.subarray(0, count * 784));
  await writeFile(
    file,
    JSON.stringify({ shape: [count, 1, 28, 28], data, labels: Array.from(d.labels.subarray(0, count)) }),
  );
}

describe('fogline calibrate', () => {
  let dir = '';
  const config = async (name: string) =>
    JSON.parse(await readFile(join(dir, 'repo', name, 'config.json'), 'utf8'));
  /** `fogline calibrate` on the copied repository: fitted on one split, judged on the other. */
  const calibrate = (...flags: string[]) =>
    fogline(
      'calibrate',
      '--models',
      join(dir, 'repo'),
      '--data',
      join(dir, 'fit.json'),
      '--eval-data',
      join(dir, 'held.json'),
      '--latency-runs',
      '5',
      ...flags,
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fogline-calibrate-cli-'));
    for (const m of MODELS) await cp(join(DEFAULT_MODELS_DIR, m), join(dir, 'repo', m), { recursive: true });
    await writeSplit(join(dir, 'fit.json'), 'calibration', 400);
    await writeSplit(join(dir, 'held.json'), 'test', 400);
  }, 60_000);

  it('writes the chosen routing into the device and edge configs, and the report', async () => {
    const before = await config('digits-mid');
    const r = await calibrate('--max-cloud-share', '0.1', '--report', join(dir, 'out', 'cal'));
    expect(r.stderr).not.toMatch(/fogline:/);
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(join(dir, 'out', 'cal.json'), 'utf8'));
    const chosen = report.rows[0];
    expect(chosen.name).toBe('chosen');
    expect(chosen.calibration.share.cloud).toBeLessThanOrEqual(0.1);
    expect(report.rows.map((row: { name: string }) => row.name)).toEqual([
      'chosen',
      'always-device',
      'always-edge',
      'always-cloud',
      'oracle router',
    ]);

    const tiny = await config('digits-tiny');
    const mid = await config('digits-mid');
    expect(tiny.routing).toEqual({
      score: chosen.policy.device.score,
      threshold: chosen.policy.device.threshold,
    });
    expect(mid.routing).toEqual({ score: chosen.policy.edge.score, threshold: chosen.policy.edge.threshold });
    expect({ ...mid, routing: before.routing }).toEqual(before);
    const cloudConfig = JSON.parse(
      await readFile(join(DEFAULT_MODELS_DIR, 'digits-large', 'config.json'), 'utf8'),
    );
    expect(await config('digits-large')).toEqual(cloudConfig);
    expect(await readFile(join(dir, 'out', 'cal.svg'), 'utf8')).toMatch(/^<svg/);
    expect(await readFile(join(dir, 'out', 'cal.md'), 'utf8')).toMatch(/oracle router/);
  });

  it('an unreachable target: says so, writes no routing', async () => {
    const before = await config('digits-tiny');
    const r = await calibrate('--target', 'accuracy>=1', '--report', join(dir, 'out', 'none'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no policy meets "accuracy ≥ 1/);
    expect(await config('digits-tiny')).toEqual(before);
    expect(existsSync(join(dir, 'out', 'none.md'))).toBe(true);
  });
});

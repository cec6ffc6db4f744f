import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  histogram,
  type ModelConfig,
  PSI_ALARM,
  parseModelConfig,
  psi,
  type ScoreKind,
  scoreOf,
  seededRandom,
} from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { evaluateModel, loadDataset, targetOf } from '@fogline/toolchain';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../testing/run-fogline.ts';

const MODELS = ['digits-tiny', 'digits-mid', 'digits-large'];

/** The first `count` digits of a split as a .json dataset, each pixel passed through `shift`. */
async function writeSplit(
  file: string,
  split: 'calibration' | 'test',
  count: number,
  shift: (x: number) => number = (x) => x,
): Promise<void> {
  const d = loadDigits(split);
  const data = Array.from(d.images.subarray(0, count * 784), shift);
  await writeFile(
    file,
    JSON.stringify({ shape: [count, 1, 28, 28], data, labels: Array.from(d.labels.subarray(0, count)) }),
  );
}

/** Gaussian pixel noise (Box–Muller on a seeded stream), clipped to the [0, 1] pixel range. */
function noisy(sigma: number, seed: number): (x: number) => number {
  const random = seededRandom(seed);
  return (x) => {
    const g = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    return Math.min(1, Math.max(0, x + sigma * g));
  };
}

/** A model's routing scores of `kind` on each sample of a dataset file, run through onnxruntime. */
async function scoresOn(repo: string, model: string, file: string, kind: ScoreKind): Promise<number[]> {
  const configFile = join(repo, model, 'config.json');
  const config: ModelConfig = parseModelConfig(
    JSON.parse(await readFile(configFile, 'utf8')),
    configFile,
    model,
  );
  const set = await loadDataset(file, targetOf(config, configFile));
  const bytes = await readFile(join(repo, model, '1', 'model.onnx'));
  const e = await evaluateModel(bytes, model, config, set);
  return Array.from({ length: e.count }, (_, i) =>
    scoreOf(kind, e.probabilities.subarray(i * e.classes, (i + 1) * e.classes)),
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
    await writeSplit(join(dir, 'inverted.json'), 'test', 400, (x) => 1 - x);
    await writeSplit(join(dir, 'noisy.json'), 'test', 400, noisy(0.3, 7));
  }, 60_000);

  it('writes the chosen routing into the device and edge configs, and the report', {
    timeout: 120_000,
  }, async () => {
    const before = await config('digits-mid');
    const r = await calibrate('--max-cloud-share', '0.1', '--report', join(dir, 'out', 'cal'));
    expect(r.stderr).not.toMatch(/fogline:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /cloud score reference in the edge's config: digits-large v1 margin on \d+ bins/,
    );
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
    // Only routing and the drift block change; every other field stays as written. The edge's block
    // is the device's plus the cloud's own score histogram.
    const { cloudScores, ...deviceBaseline } = mid.drift.baseline;
    expect({ ...mid.drift, baseline: deviceBaseline }).toEqual(tiny.drift);
    expect(cloudScores).toMatchObject({ model: 'digits-large', version: 1 });
    expect(tiny.drift.baseline.cloudScores).toBeUndefined();
    expect({ ...mid, routing: before.routing, drift: before.drift }).toEqual(before);
    const cloudConfig = JSON.parse(
      await readFile(join(DEFAULT_MODELS_DIR, 'digits-large', 'config.json'), 'utf8'),
    );
    expect(await config('digits-large')).toEqual(cloudConfig);
    // The same report beside the two configs it wrote (the cloud's Models page reads it), not the cloud's.
    for (const model of ['digits-tiny', 'digits-mid']) {
      expect(await readFile(join(dir, 'repo', model, 'calibration.json'), 'utf8')).toBe(
        await readFile(join(dir, 'out', 'cal.json'), 'utf8'),
      );
    }
    expect(existsSync(join(dir, 'repo', 'digits-large', 'calibration.json'))).toBe(false);
    expect(report.tiers.map((t: { version: number }) => t.version)).toEqual([1, 1, 1]);
    expect(await readFile(join(dir, 'out', 'cal.svg'), 'utf8')).toMatch(/^<svg/);
    expect(await readFile(join(dir, 'out', 'cal.md'), 'utf8')).toMatch(/oracle router/);
  });

  it("writes the device's calibration score histogram into the device and edge configs, against which drift shows", async () => {
    const tiny = await config('digits-tiny');
    const mid = await config('digits-mid');
    // Written by the first test's run; both configs parse with it.
    expect(parseModelConfig(tiny, 'config.json', 'digits-tiny').drift).toEqual(tiny.drift);
    expect(parseModelConfig(mid, 'config.json', 'digits-mid').drift).toEqual(mid.drift);
    const drift = parseModelConfig(tiny, 'config.json', 'digits-tiny').drift!;
    expect(drift).toMatchObject({
      score: tiny.routing.score,
      model: 'digits-tiny',
      version: 1,
      records: 400,
    });
    expect(drift.reference.length).toBeGreaterThanOrEqual(5);
    expect(drift.reference.every((share) => share > 0)).toBe(true);
    const report = JSON.parse(await readFile(join(dir, 'out', 'cal.json'), 'utf8'));
    expect(report.drift).toEqual(drift);
    // The controller's baseline: d0, the chosen policy's disagreement with the cloud, bounds the
    // accuracy gap between them (where they agree they are both right or both wrong).
    const b = drift.baseline!;
    const cloud = report.tiers.find((t: { role: string }) => t.role === 'cloud').accuracy;
    const chosen = report.rows.find((r: { name: string }) => r.name === 'chosen').calibration.accuracy;
    expect(b.cloudAccuracy).toBeCloseTo(cloud, 12);
    expect(b.disagreement).toBeGreaterThanOrEqual(Math.abs(cloud - chosen) - 1e-12);
    expect(b.disagreement).toBeLessThan(0.05);
    expect(b.edgeAgreement).toBeGreaterThan(0.9);

    const psiOn = async (file: string) => {
      const scores = await scoresOn(join(dir, 'repo'), 'digits-tiny', join(dir, file), drift.score);
      return psi(drift.reference, histogram(scores, drift.bins));
    };
    // The calibration samples against their own histogram, in-distribution test digits, shifted ones.
    expect(await psiOn('fit.json')).toBeLessThan(1e-9);
    expect(await psiOn('held.json')).toBeLessThan(0.1);
    expect(await psiOn('inverted.json')).toBeGreaterThan(PSI_ALARM);
    expect(await psiOn('noisy.json')).toBeGreaterThan(PSI_ALARM);
  });

  it("writes the cloud model's own score histogram into the edge's baseline, against which the cloud's drift shows", async () => {
    const mid = parseModelConfig(await config('digits-mid'), 'config.json', 'digits-mid');
    const large = await config('digits-large');
    const cloud = mid.drift!.baseline!.cloudScores!;
    // The kind the cloud scores its audit records with: its own config's routing score.
    expect(cloud).toMatchObject({
      score: large.routing.score,
      model: 'digits-large',
      version: 1,
      records: 400,
    });
    expect(cloud.reference.every((share) => share > 0)).toBe(true);
    const psiOn = async (file: string) => {
      const scores = await scoresOn(join(dir, 'repo'), 'digits-large', join(dir, file), cloud.score);
      return psi(cloud.reference, histogram(scores, cloud.bins));
    };
    expect(await psiOn('fit.json')).toBeLessThan(1e-9);
    expect(await psiOn('held.json')).toBeLessThan(0.1);
    expect(await psiOn('inverted.json')).toBeGreaterThan(PSI_ALARM);
  });

  it('--drift-only: keeps the routing the configs hold, writes the drift block measured for that routing', async () => {
    const routing = {
      'digits-tiny': { score: 'margin', threshold: 0.25 },
      'digits-mid': { score: 'maxprob', threshold: 0.7 },
    } as const;
    for (const [name, r] of Object.entries(routing)) {
      const { drift: _, ...rest } = await config(name);
      await writeFile(join(dir, 'repo', name, 'config.json'), JSON.stringify({ ...rest, routing: r }));
    }
    const r = await calibrate('--drift-only', '--report', join(dir, 'out', 'drift-only'));
    expect(r.stderr).not.toMatch(/fogline:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/kept: device margin ≥ 0\.2500, edge maxprob ≥ 0\.7000/);
    const tiny = await config('digits-tiny');
    const mid = await config('digits-mid');
    expect(tiny.routing).toEqual(routing['digits-tiny']);
    expect(mid.routing).toEqual(routing['digits-mid']);
    const report = JSON.parse(await readFile(join(dir, 'out', 'drift-only.json'), 'utf8'));
    expect(report.command).toMatch(/--drift-only$/);
    const chosen = report.rows.find((row: { name: string }) => row.name === 'chosen');
    expect(chosen.policy).toEqual({ device: routing['digits-tiny'], edge: routing['digits-mid'] });
    // The baseline is that of the kept policy: d0 bounds its accuracy gap to the cloud.
    const drift = parseModelConfig(tiny, 'config.json', 'digits-tiny').drift!;
    expect(drift).toMatchObject({ score: 'margin', model: 'digits-tiny', records: 400 });
    const cloud = report.tiers.find((t: { role: string }) => t.role === 'cloud').accuracy;
    expect(drift.baseline!.disagreement).toBeGreaterThanOrEqual(
      Math.abs(cloud - chosen.calibration.accuracy) - 1e-12,
    );
    expect(mid.drift.baseline.cloudScores).toMatchObject({ model: 'digits-large' });
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

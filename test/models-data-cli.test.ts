/**
 * The user's own data through the CLI, as a user runs it: a 4-class cascade that is not digits
 * (toolchain test support: shapesCascade, three FP32 typed classifiers with labels and
 * preprocessing), a folder of PNG files per class written with sharp, and a .npy pair;
 * `models eval|report`, `calibrate` and `quantize` read them through the one dataset reader.
 * Answers are checked against onnxruntime run directly on the pixels prepared by the core's
 * preprocessImage.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFogline as fogline } from '@fogline/cli/testing';
import { argmax, parseModelConfig, preprocessImage } from '@fogline/shared';
import { encodeNpy } from '@fogline/toolchain';
import {
  shapesCascade,
  typedClassifierClass,
  typedRepository,
  U8_PROBS_FP16,
  writeTypedClassifier,
} from '@fogline/toolchain/testing';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LABELS = ['circle', 'square', 'triangle', 'cross'];
const PER_CLASS = 4;

let dir = '';
let repo = '';
let images = '';

/** Deterministic 12×12 RGB pixels, a different pattern per class and sample. */
function pixels(k: number, i: number): Uint8Array {
  return Uint8Array.from({ length: 12 * 12 * 3 }, (_, j) => (j * (7 + k * 13) + i * 29 + k * 61) % 256);
}

/** The top-1 class of each image, from onnxruntime run directly on preprocessImage's values. */
async function directPredictions(model: string, raw: Uint8Array[]): Promise<number[]> {
  const config = parseModelConfig(
    JSON.parse(await readFile(join(repo, model, 'config.json'), 'utf8')),
    'config.json',
    model,
  );
  const session = await ort.InferenceSession.create(join(repo, model, '1', 'model.onnx'));
  try {
    const out: number[] = [];
    for (const data of raw) {
      const x = preprocessImage({ data, width: 12, height: 12, channels: 3 }, config);
      const y = await session.run({ image: new ort.Tensor('float32', x, [1, 3, 8, 8]) });
      out.push(argmax(y.logits!.data as Float32Array));
    }
    return out;
  } finally {
    await session.release();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-data-cli-'));
  repo = join(dir, 'repo');
  typedRepository(shapesCascade(LABELS), repo);
  images = join(dir, 'images');
  for (const [k, label] of LABELS.entries()) {
    await mkdir(join(images, label), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const png = await sharp(Buffer.from(pixels(k, i)), { raw: { width: 12, height: 12, channels: 3 } })
        .png()
        .toBuffer();
      await writeFile(join(images, label, `${i}.png`), png);
    }
  }
  // The same images as raw pixels in a .npy pair (u1 [N, H, W, C]).
  const all = LABELS.flatMap((_, k) => Array.from({ length: PER_CLASS }, (_, i) => pixels(k, i)));
  await mkdir(join(dir, 'npy'));
  await writeFile(
    join(dir, 'npy', 'inputs.npy'),
    encodeNpy(
      'u1',
      [all.length, 12, 12, 3],
      all.flatMap((p) => Array.from(p)),
    ),
  );
  await writeFile(
    join(dir, 'npy', 'labels.npy'),
    encodeNpy(
      'i8',
      [all.length],
      LABELS.flatMap((_, k) => new Array<number>(PER_CLASS).fill(k)),
    ),
  );
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fogline models eval|report --data', () => {
  it('eval on an image folder of a 4-class model: the accuracy onnxruntime gives on the prepared pixels', async () => {
    const r = await fogline('models', 'eval', 'shapes-mid', '--models', repo, '--data', images, '--json');
    expect(r.stderr).not.toMatch(/fogline:/);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      count: number;
      correct: number;
      perClass: { label: string; count: number }[];
    };
    const raw = LABELS.flatMap((_, k) => Array.from({ length: PER_CLASS }, (_, i) => pixels(k, i)));
    const predicted = await directPredictions('shapes-mid', raw);
    const truth = LABELS.flatMap((_, k) => new Array<number>(PER_CLASS).fill(k));
    // Image folders are read in folder-name order: circle, cross, square, triangle.
    expect(report.count).toBe(16);
    expect(report.correct).toBe(predicted.filter((p, i) => p === truth[i]).length);
    expect(report.perClass.map((c) => [c.label, c.count])).toEqual(LABELS.map((l) => [l, PER_CLASS]));

    const npy = await fogline(
      'models',
      'eval',
      'shapes-mid',
      '--models',
      repo,
      '--data',
      join(dir, 'npy'),
      '--json',
    );
    expect(npy.code, npy.stderr).toBe(0);
    expect(JSON.parse(npy.stdout)).toMatchObject({ count: 16, correct: report.correct });
  }, 60_000);

  it('eval of a UINT8-input, FP16-probabilities model: fed and scored by its config, not a raw onnxruntime error', async () => {
    const u8repo = join(dir, 'u8repo');
    writeTypedClassifier(u8repo, U8_PROBS_FP16);
    const features = U8_PROBS_FP16.sample[0]!;
    const count = 30;
    const values = Array.from({ length: count * features }, (_, i) => ((i * 37) % 21) - 10);
    const expected = Array.from({ length: count }, (_, i) =>
      typedClassifierClass(U8_PROBS_FP16, values.slice(i * features, (i + 1) * features)),
    );
    const labels = expected.map((c, i) => (i % 3 === 0 ? (c + 1) % 3 : c)); // 10 of 30 wrong
    await writeFile(join(dir, 'u8-inputs.npy'), encodeNpy('f4', [count, features], values));
    await writeFile(join(dir, 'u8-labels.npy'), encodeNpy('i4', [count], labels));
    const data = `${join(dir, 'u8-inputs.npy')},${join(dir, 'u8-labels.npy')}`;
    const r = await fogline('models', 'eval', 'u8', '--models', u8repo, '--data', data, '--json');
    expect(r.stderr).not.toMatch(/fogline:/);
    expect(JSON.parse(r.stdout)).toMatchObject({ count, correct: 20, accuracy: 20 / 30 });
  }, 60_000);

  it('report evaluates every model of the repository on the data', async () => {
    const r = await fogline('models', 'report', '--models', repo, '--data', images, '--json');
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; accuracy: number | null }[];
    expect(rows.map((row) => row.name)).toEqual(['shapes-large', 'shapes-mid', 'shapes-tiny']);
    expect(rows.every((row) => typeof row.accuracy === 'number')).toBe(true);
  }, 60_000);

  it('report on data no model can read (a path that does not exist, another family) fails with exit 1', async () => {
    for (const data of [join(dir, 'no-such-folder'), 'test']) {
      const r = await fogline('models', 'report', '--models', repo, '--data', data);
      expect(r.code, `${data}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`fogline: no model of the repository could be evaluated on ${data}`);
      expect(r.stdout).toBe('');
    }
  }, 60_000);

  it('bad data: an undecodable image is skipped with its path (--strict stops), an unknown label folder and the digits on a 3×8×8 model are one line each', async () => {
    const broken = join(dir, 'broken');
    await mkdir(join(broken, 'circle'), { recursive: true });
    await writeFile(join(broken, 'circle', 'ok.png'), await readFile(join(images, 'circle', '0.png')));
    await writeFile(join(broken, 'circle', 'bad.png'), 'not an image');
    const skipped = await fogline(
      'models',
      'eval',
      'shapes-tiny',
      '--models',
      repo,
      '--data',
      broken,
      '--json',
    );
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stderr).toContain(`skipped ${join(broken, 'circle', 'bad.png')}: cannot decode it`);
    expect(JSON.parse(skipped.stdout)).toMatchObject({ count: 1 });

    const strict = await fogline(
      'models',
      'eval',
      'shapes-tiny',
      '--models',
      repo,
      '--data',
      broken,
      '--strict',
    );
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(
      new RegExp(`fogline: .*${join(broken, 'circle', 'bad.png')}: cannot decode it`),
    );

    await mkdir(join(broken, 'hexagon'));
    const unknown = await fogline('models', 'eval', 'shapes-tiny', '--models', repo, '--data', broken);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      `${join(broken, 'hexagon')}: label folder "hexagon" is not a label of the model`,
    );

    const digits = await fogline('models', 'eval', 'shapes-tiny', '--models', repo, '--data', 'test');
    expect(digits.code).toBe(1);
    expect(digits.stderr).toMatch(
      /digits split "test" \(1×28×28\): has samples of shape 1×28×28; the model input "image" .* takes samples of 3×8×8/,
    );
  }, 60_000);
});

describe('fogline calibrate and quantize --data', () => {
  it('calibrate fits the routing of the user cascade on image folders, judged on the .npy pair', async () => {
    const r = await fogline(
      'calibrate',
      '--models',
      repo,
      '--data',
      images,
      '--eval-data',
      join(dir, 'npy'),
      '--latency-runs',
      '3',
      '--report',
      join(dir, 'cal'),
    );
    expect(r.stderr).not.toMatch(/fogline:/);
    expect(r.code).toBe(0);
    const report = JSON.parse(await readFile(join(dir, 'cal.json'), 'utf8'));
    expect(report.split).toBe(images);
    expect(report.tiers.map((t: { model: string }) => t.model)).toEqual([
      'shapes-tiny',
      'shapes-mid',
      'shapes-large',
    ]);
    const device = JSON.parse(await readFile(join(repo, 'shapes-tiny', 'config.json'), 'utf8'));
    expect(typeof device.routing.threshold).toBe('number');
    // The device's score histogram on the 16 images, in the device and the edge config, both parsing.
    const drift = parseModelConfig(device, 'config.json', 'shapes-tiny').drift;
    expect(drift).toMatchObject({
      score: device.routing.score,
      model: 'shapes-tiny',
      version: 1,
      records: 16,
    });
    // The edge's copy adds the cloud's own score histogram (the weak-reference check's input).
    const edge = JSON.parse(await readFile(join(repo, 'shapes-mid', 'config.json'), 'utf8'));
    const edgeDrift = parseModelConfig(edge, 'config.json', 'shapes-mid').drift;
    const { cloudScores, ...edgeBaseline } = edgeDrift?.baseline ?? {};
    expect({ ...edgeDrift, baseline: edgeBaseline }).toEqual(drift);
    expect(cloudScores).toMatchObject({ model: 'shapes-large', version: 1, records: 16 });
  }, 90_000);

  it('quantize --calibration-data <image folder> --into the repository: the int8 edge model and its report', async () => {
    const r = await fogline(
      'quantize',
      join(repo, 'shapes-mid', '1', 'model.onnx'),
      '--into',
      repo,
      '--calibration-data',
      images,
      '--eval-data',
      join(dir, 'npy'),
      '--no-latency',
      '--report',
      join(dir, 'q'),
    );
    expect(r.stderr).not.toMatch(/fogline:/);
    expect(r.code).toBe(0);
    expect(existsSync(join(repo, 'shapes-mid-int8', '1', 'model.onnx'))).toBe(true);
    const report = JSON.parse(await readFile(join(dir, 'q.json'), 'utf8'));
    expect(report.comparisons.map((c: { source: string; count: number }) => [c.source, c.count])).toEqual([
      [images, 16],
      [`${join(dir, 'npy', 'inputs.npy')}+${join(dir, 'npy', 'labels.npy')}`, 16],
    ]);
    expect(report.comparisons[0].agreement).toBeGreaterThanOrEqual(0.9);
  }, 90_000);
});

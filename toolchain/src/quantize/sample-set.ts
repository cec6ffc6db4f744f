/**
 * Input samples for calibration and evaluation: a digits split by name, or a user's file.
 *
 * File formats (documented in docs/toolchain.md):
 * - JSON: `{ "shape": [N, ...sampleDims], "data": [...N × prod(sampleDims) numbers, flat or nested],
 *   "labels"?: [N integers] }`
 * - raw: any other extension; little-endian float32 values back to back, N samples of the model
 *   input's per-sample size (the model input must then have fixed non-batch dims).
 */
import { readFile } from 'node:fs/promises';
import { FoglineError } from '@fogline/shared';
import { type DigitsSplit, loadDigits } from '@fogline/shared/digits';

export interface SampleSet {
  /** count × prod(sampleDims) floats, row-major. */
  readonly data: Float32Array;
  readonly count: number;
  /** The per-sample dims the data is fed with (the model input shape without its batch dim). */
  readonly sampleDims: readonly number[];
  /** Class labels, when the source has them (accuracy is then reported). */
  readonly labels?: Uint8Array;
  /** Where the samples came from, for reports. */
  readonly source: string;
}

export const DIGITS_SPLIT_NAMES: readonly DigitsSplit[] = ['train', 'calibration', 'test'];

/** Model input dims without the batch dim; undefined marks a symbolic dim. */
export type SampleDims = readonly (number | undefined)[];

function fixedDims(dims: SampleDims): number[] | undefined {
  return dims.every((d) => d !== undefined) ? (dims as number[]) : undefined;
}

function wrongShape(source: string, problem: string, expected: SampleDims): FoglineError {
  const shown = expected.map((d) => d ?? '?').join('×');
  return new FoglineError(
    'INVALID_ARG',
    `calibration data of the wrong shape: ${source} ${problem}; the model input expects [N, ${shown}] per batch`,
    {
      details: { source, expected: expected.map((d) => d ?? -1) },
    },
  );
}

/** Checks a sample shape against the model input (symbolic dims match anything); returns the feed dims. */
function fitDims(source: string, dims: readonly number[], expected: SampleDims): number[] {
  const size = dims.reduce((n, d) => n * d, 1);
  const fixed = fixedDims(expected);
  if (
    dims.length === expected.length &&
    dims.every((d, i) => expected[i] === undefined || expected[i] === d)
  ) {
    return [...dims];
  }
  // Same element count as a fully fixed input: a flat 784 fed to [1,28,28] (or back) is a reshape.
  if (fixed && fixed.reduce((n, d) => n * d, 1) === size) return fixed;
  throw wrongShape(source, `has samples of shape [${dims.join('×')}]`, expected);
}

function fromDigits(split: DigitsSplit, expected: SampleDims): SampleSet {
  const d = loadDigits(split);
  const sampleDims = fitDims(`digits split "${split}"`, [1, 28, 28], expected);
  return { data: d.images, count: d.count, sampleDims, labels: d.labels, source: `digits:${split}` };
}

function flatNumbers(value: unknown, source: string): Float32Array {
  const flat = Array.isArray(value) ? (value as unknown[]).flat(Number.POSITIVE_INFINITY) : undefined;
  if (!flat?.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new FoglineError('INVALID_ARG', `${source}: "data" must be an array of finite numbers`);
  }
  return Float32Array.from(flat as number[]);
}

function fromJson(text: string, source: string, expected: SampleDims): SampleSet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', `${source} is not valid JSON`, { cause });
  }
  const obj = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const shape = obj.shape;
  if (!Array.isArray(shape) || shape.length < 1 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FoglineError(
      'INVALID_ARG',
      `${source}: "shape" must be [N, ...sample dims] of positive integers`,
    );
  }
  const [count, ...dims] = shape as number[];
  const data = flatNumbers(obj.data, source);
  const perSample = dims.reduce((n, d) => n * d, 1);
  if (data.length !== count! * perSample) {
    throw wrongShape(
      source,
      `has ${data.length} values but "shape" ${JSON.stringify(shape)} needs ${count! * perSample}`,
      expected,
    );
  }
  const sampleDims = fitDims(source, dims, expected);
  let labels: Uint8Array | undefined;
  if (obj.labels !== undefined) {
    const l = obj.labels;
    if (
      !Array.isArray(l) ||
      l.length !== count ||
      !l.every((v) => Number.isInteger(v) && v >= 0 && v < 256)
    ) {
      throw new FoglineError('INVALID_ARG', `${source}: "labels" must be ${count} integers in [0, 255]`);
    }
    labels = Uint8Array.from(l as number[]);
  }
  return { data, count: count!, sampleDims, ...(labels ? { labels } : {}), source };
}

function fromRaw(bytes: Uint8Array, source: string, expected: SampleDims): SampleSet {
  const fixed = fixedDims(expected);
  if (!fixed) {
    throw new FoglineError(
      'INVALID_ARG',
      `${source}: a raw float32 file needs a model input with fixed non-batch dims; use the JSON format with a "shape"`,
    );
  }
  const perSample = fixed.reduce((n, d) => n * d, 1);
  if (bytes.byteLength === 0 || bytes.byteLength % (4 * perSample) !== 0) {
    throw wrongShape(
      source,
      `has ${bytes.byteLength} bytes, not a multiple of ${4 * perSample} (float32 × ${perSample})`,
      expected,
    );
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const data = new Float32Array(copy.buffer);
  if (!data.every(Number.isFinite))
    throw new FoglineError('INVALID_ARG', `${source}: holds NaN or infinite values`);
  return { data, count: data.length / perSample, sampleDims: fixed, source };
}

/**
 * Loads samples for a model input whose per-sample dims are `expected`. `spec` is a digits split
 * name or a file path. Throws INVALID_ARG naming the problem when the data does not fit the input.
 */
export async function loadSampleSet(spec: string, expected: SampleDims): Promise<SampleSet> {
  if ((DIGITS_SPLIT_NAMES as readonly string[]).includes(spec))
    return fromDigits(spec as DigitsSplit, expected);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(spec);
  } catch (cause) {
    throw new FoglineError(
      'NOT_FOUND',
      `calibration data "${spec}" is neither a digits split (${DIGITS_SPLIT_NAMES.join(', ')}) nor a readable file`,
      { cause },
    );
  }
  return spec.endsWith('.json')
    ? fromJson(new TextDecoder().decode(bytes), spec, expected)
    : fromRaw(bytes, spec, expected);
}

/** Samples [start, start + n) as one batch tensor payload. */
export function batchOf(set: SampleSet, start: number, n: number): Float32Array {
  const per = set.sampleDims.reduce((a, d) => a * d, 1);
  return set.data.subarray(start * per, (start + n) * per);
}

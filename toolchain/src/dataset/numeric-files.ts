/**
 * The numeric forms: the digits splits, a shifted digits stream, a JSON file and a raw float32 file
 * (docs/data.md).
 * - JSON: `{ "shape": [N, ...sampleDims], "data": [...N × prod(sampleDims) numbers, flat or nested],
 *   "labels"?: [N class indices] }`
 * - raw: little-endian float32 values back to back, N samples of the model input's per-sample size
 *   (the model input must then have fixed non-batch dims).
 */
import { FoglineError } from '@fogline/shared';
import { collectStream, type DigitsSplit, loadDigits, parseShiftSpec } from '@fogline/shared/digits';
import {
  checkLabels,
  type Dataset,
  type DatasetTarget,
  fitDims,
  sampleDimsOf,
  wrongShape,
} from './dataset.ts';

export function fromDigits(split: DigitsSplit, target: DatasetTarget): Dataset {
  const d = loadDigits(split);
  const source = `digits:${split}`;
  const sampleDims = fitDims(`digits split "${split}" (1×28×28)`, [1, 28, 28], target);
  const labels = checkLabels(source, d.labels, target);
  return { data: d.images, count: d.count, sampleDims, labels, source, skipped: [] };
}

/** `shift:<preset or fields>[@seed=n]`: a shifted stream of digits (shared/src/digits/shift-spec.ts). */
export function fromShift(spec: string, target: DatasetTarget): Dataset {
  const stream = collectStream(parseShiftSpec(spec));
  const sampleDims = fitDims(`shifted digits "${spec}" (1×28×28)`, [1, 28, 28], target);
  const labels = checkLabels(spec, stream.labels, target);
  return { data: stream.images, count: stream.count, sampleDims, labels, source: spec, skipped: [] };
}

function flatNumbers(value: unknown, source: string): Float32Array {
  const flat = Array.isArray(value) ? (value as unknown[]).flat(Number.POSITIVE_INFINITY) : undefined;
  if (!flat?.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw new FoglineError('INVALID_ARG', `${source}: field "data" must be an array of finite numbers`);
  }
  return Float32Array.from(flat as number[]);
}

export function fromJson(text: string, source: string, target: DatasetTarget): Dataset {
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
      `${source}: field "shape" must be [N, ...sample dims] of positive integers`,
    );
  }
  const [count, ...dims] = shape as [number, ...number[]];
  const data = flatNumbers(obj.data, source);
  const perSample = dims.reduce((n, d) => n * d, 1);
  if (data.length !== count * perSample) {
    throw wrongShape(
      source,
      `field "data" has ${data.length} values but "shape" ${JSON.stringify(shape)} needs ${count * perSample}`,
      target,
    );
  }
  const sampleDims = fitDims(source, dims, target);
  let labels: Uint16Array | undefined;
  if (obj.labels !== undefined) {
    if (!Array.isArray(obj.labels) || obj.labels.length !== count)
      throw new FoglineError(
        'INVALID_ARG',
        `${source}: field "labels" must be an array of ${count} class indices`,
      );
    labels = checkLabels(`${source} field "labels"`, obj.labels as number[], target);
  }
  return { data, count, sampleDims, ...(labels ? { labels } : {}), source, skipped: [] };
}

export function fromRaw(bytes: Uint8Array, source: string, target: DatasetTarget): Dataset {
  const expected = sampleDimsOf(target);
  if (!expected.every((d) => d !== undefined)) {
    throw new FoglineError(
      'INVALID_ARG',
      `${source}: a raw float32 file needs a model input with fixed non-batch dims; use the JSON or .npy form`,
    );
  }
  const fixed = expected as number[];
  const perSample = fixed.reduce((n, d) => n * d, 1);
  if (bytes.byteLength === 0 || bytes.byteLength % (4 * perSample) !== 0) {
    throw wrongShape(
      source,
      `has ${bytes.byteLength} bytes, not a multiple of ${4 * perSample} (float32 × ${perSample})`,
      target,
    );
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  const data = new Float32Array(copy.buffer);
  if (!data.every(Number.isFinite))
    throw new FoglineError('INVALID_ARG', `${source}: holds NaN or infinite values`);
  return { data, count: data.length / perSample, sampleDims: fixed, source, skipped: [] };
}

/**
 * What the dataset reader returns and what it reads for: a Dataset is N samples of a model's first
 * input as prepared real values (after preprocessing, before the tensor's datatype conversion), with a
 * class index per sample when the source is labelled. A DatasetTarget is the part of a model's
 * config the reader needs (docs/data.md "Datasets").
 */
import { FoglineError, type ModelConfig, parseModelConfig, type TensorSpec } from '@fogline/shared';

export interface DatasetTarget {
  /** The model's config: its first input, preprocessing, labels and output classes count. */
  readonly config: ModelConfig;
  /** Where the target came from, for messages (a config.json path or a model file). */
  readonly source: string;
}

export interface Dataset {
  /** count × prod(sampleDims) prepared real values, row-major, sample after sample. */
  readonly data: Float32Array;
  readonly count: number;
  /** The per-sample dims the samples are fed with (the model input shape without its batch dim). */
  readonly sampleDims: readonly number[];
  /** Class index per sample, when the source is labelled (accuracy is then reported). */
  readonly labels?: Uint16Array;
  /** Where the samples came from, for reports (`digits:test`, a path). */
  readonly source: string;
  /** Files left out: `path: reason`, in the order met. */
  readonly skipped: readonly string[];
}

export interface DatasetProgress {
  readonly done: number;
  readonly total: number;
}

export interface LoadDatasetOptions {
  /** Stop at the first bad file instead of skipping it. */
  readonly strict?: boolean;
  /** Called once per skipped file with `path: reason` (default: nothing; the line is in `skipped`). */
  readonly onBadFile?: (line: string) => void;
  readonly onProgress?: (p: DatasetProgress) => void;
}

/** A model's config as a dataset target. */
export function targetOf(config: ModelConfig, source: string): DatasetTarget {
  return { config, source };
}

/**
 * A target for a bare ONNX file with no config.json: its one float input, the config defaults
 * (NCHW, GRAY for one channel else RGB, x/255) and no label names (class folders named 0..K-1).
 */
export function targetOfInput(
  inputName: string,
  sampleDims: readonly (number | undefined)[],
  outputName: string,
  source: string,
): DatasetTarget {
  const raw = {
    name: 'model',
    tier: 'cloud',
    platform: 'onnxruntime_onnx',
    max_batch_size: 1,
    inputs: [{ name: inputName, datatype: 'FP32', shape: [-1, ...sampleDims.map((d) => d ?? -1)] }],
    outputs: [{ name: outputName, datatype: 'FP32', shape: [-1, -1] }],
  };
  return { config: parseModelConfig(raw, source, 'model'), source };
}

/** The model input the samples feed. */
export function inputOf(target: DatasetTarget): TensorSpec {
  return target.config.inputs[0]!;
}

/** Input dims without the batch dim; undefined marks a variable dim. */
export function sampleDimsOf(target: DatasetTarget): (number | undefined)[] {
  return inputOf(target)
    .shape.slice(1)
    .map((d) => (d === -1 ? undefined : d));
}

/** The samples' values of sample i. */
export function sampleOf(set: Dataset, i: number): Float32Array {
  return batchOf(set, i, 1);
}

/** Samples [start, start + n) as one contiguous batch. */
export function batchOf(set: Dataset, start: number, n: number): Float32Array {
  const per = set.sampleDims.reduce((a, d) => a * d, 1);
  return set.data.subarray(start * per, (start + n) * per);
}

/** The one line for data that does not fit the model input. */
export function wrongShape(source: string, problem: string, target: DatasetTarget): FoglineError {
  const shown = sampleDimsOf(target)
    .map((d) => d ?? '?')
    .join('×');
  const input = inputOf(target);
  return new FoglineError(
    'INVALID_ARG',
    `${source}: ${problem}; the model input "${input.name}" (${target.source}) takes samples of ${shown}`,
    { details: { source, expected: input.shape } },
  );
}

/**
 * Checks a sample shape against the model input (variable dims match anything) and returns the feed
 * dims; the same element count as a fully fixed input is a reshape (784 ↔ 1×28×28).
 */
export function fitDims(source: string, dims: readonly number[], target: DatasetTarget): number[] {
  const expected = sampleDimsOf(target);
  if (dims.length === expected.length && dims.every((d, i) => expected[i] === undefined || expected[i] === d))
    return [...dims];
  const fixed = expected.every((d) => d !== undefined) ? (expected as number[]) : undefined;
  const size = dims.reduce((n, d) => n * d, 1);
  if (fixed && fixed.reduce((n, d) => n * d, 1) === size) return fixed;
  throw wrongShape(source, `has samples of shape ${dims.join('×')}`, target);
}

/** Checks every label is a class of the model; returns them as class indices. */
export function checkLabels(source: string, labels: ArrayLike<number>, target: DatasetTarget): Uint16Array {
  const classes = classCountOf(target);
  const out = new Uint16Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || (classes !== undefined && l >= classes) || l > 0xffff) {
      throw new FoglineError(
        'INVALID_ARG',
        `${source}: label ${i} is ${l}, not a class index of the model (0..${classes === undefined ? '?' : classes - 1})`,
        { details: { source, index: i } },
      );
    }
    out[i] = l;
  }
  return out;
}

/** Classes of the model: its label names, else the last dim of its first output (undefined: open). */
export function classCountOf(target: DatasetTarget): number | undefined {
  const { labels, outputs } = target.config;
  if (labels.length > 0) return labels.length;
  const k = outputs[0]!.shape.at(-1)!;
  return k === -1 ? undefined : k;
}

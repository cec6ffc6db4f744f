/**
 * The `.npy` pair form: `inputs.npy` [N, ...] + `labels.npy` [N] (docs/data.md). Inputs of dtype u1
 * are raw 8-bit pixels [N, H, W, C] or [N, H, W] and are prepared like an image folder's; any other
 * dtype holds the prepared real values of the model input, [N, ...input dims].
 */
import { readFile } from 'node:fs/promises';
import { FoglineError, preprocessImage } from '@fogline/shared';
import { checkLabels, type Dataset, type DatasetTarget, fitDims, wrongShape } from './dataset.ts';
import { type NpyArray, parseNpy } from './npy.ts';

async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new FoglineError('NOT_FOUND', `${path}: cannot read it`, { cause, details: { file: path } });
  }
  try {
    return parseNpy(bytes);
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', `${path}: ${(cause as Error).message}`, {
      cause,
      details: { file: path },
    });
  }
}

export async function fromNpyPair(
  inputsPath: string,
  labelsPath: string,
  target: DatasetTarget,
): Promise<Dataset> {
  const [inputs, labels] = await Promise.all([readNpy(inputsPath), readNpy(labelsPath)]);
  const [count, ...dims] = inputs.shape;
  if (count === undefined || dims.length === 0)
    throw wrongShape(inputsPath, `has shape (${inputs.shape.join(', ')}), not [N, ...sample dims]`, target);
  const labelShape = labels.shape;
  if (
    !(labelShape.length === 1 || (labelShape.length === 2 && labelShape[1] === 1)) ||
    labelShape[0] !== count
  ) {
    throw new FoglineError(
      'INVALID_ARG',
      `${labelsPath}: shape (${labelShape.join(', ')}) does not fit ${inputsPath}: labels must be (${count},), one class index per input`,
      { details: { file: labelsPath, field: 'shape' } },
    );
  }
  if (labels.dtype === 'f4' || labels.dtype === 'f2')
    throw new FoglineError(
      'INVALID_ARG',
      `${labelsPath}: dtype ${labels.dtype}; labels must be integer class indices (u1, i1, i4, i8)`,
    );
  const classes = checkLabels(labelsPath, labels.values, target);
  const source = `${inputsPath}+${labelsPath}`;
  if (inputs.dtype === 'u1') return fromPixels(inputs, inputsPath, target, classes, source);
  const sampleDims = fitDims(inputsPath, dims, target);
  const data = inputs.values instanceof Float32Array ? inputs.values : Float32Array.from(inputs.values);
  if (!data.every(Number.isFinite))
    throw new FoglineError('INVALID_ARG', `${inputsPath}: holds NaN or infinite values`);
  return { data, count, sampleDims, labels: classes, source, skipped: [] };
}

/** u1 inputs: [N, H, W, C] or [N, H, W] raw pixels, prepared per the config like an image file. */
function fromPixels(
  inputs: NpyArray,
  path: string,
  target: DatasetTarget,
  labels: Uint16Array,
  source: string,
): Dataset {
  const [count, height, width, channels = 1] = inputs.shape as [number, number, number, number?];
  if (inputs.shape.length < 3 || inputs.shape.length > 4 || ![1, 2, 3, 4].includes(channels)) {
    throw wrongShape(
      path,
      `holds uint8 pixels of shape (${inputs.shape.join(', ')}); pixels must be [N, H, W, C] with C = 1 to 4 (or [N, H, W])`,
      target,
    );
  }
  const per = height * width * channels;
  const samples: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const data = (inputs.values as Uint8Array).subarray(i * per, (i + 1) * per);
    samples.push(
      preprocessImage({ data, width, height, channels: channels as 1 | 2 | 3 | 4 }, target.config),
    );
  }
  const size = samples[0]?.length ?? 0;
  const data = new Float32Array(count * size);
  for (const [i, s] of samples.entries()) data.set(s, i * size);
  const sampleDims = target.config.inputs[0]!.shape.slice(1);
  return { data, count, sampleDims, labels, source, skipped: [] };
}

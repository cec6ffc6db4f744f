/**
 * What `device.infer` takes, made into the tensor the device model consumes (and an escalation
 * carries): the prepared real values of the input (`Float32Array`, C×H×W for an image model), or raw
 * 8-bit pixels (`{ image }`) prepared with the core's `preprocessImage` per the config's
 * `preprocessing`; then encoded in the input's datatype with `toTensorData` (quantized for
 * UINT8/INT8, half bits for FP16).
 */
import {
  FoglineError,
  preprocessImage,
  type RawImage,
  type Tensor,
  type TensorDatatype,
  toTensorData,
} from '@fogline/shared';
import type { DeviceModel } from './device-model.ts';

export type DeviceInput = Float32Array | { readonly image: RawImage };

export function inputTensor(input: DeviceInput, model: DeviceModel): Tensor<TensorDatatype> {
  const values =
    typeof input === 'object' && input !== null && 'image' in input
      ? preprocessImage(input.image, model.config)
      : checkedValues(input, model);
  const { name, datatype, shape } = model.input;
  return { name, datatype, shape, data: toTensorData(values, model.input) } as Tensor<TensorDatatype>;
}

function checkedValues(input: unknown, model: DeviceModel): Float32Array {
  const { inputSize, input: spec } = model;
  if (!(input instanceof Float32Array) || input.length !== inputSize) {
    const got = input instanceof Float32Array ? `${input.length} values` : describe(input);
    throw new FoglineError(
      'INVALID_ARG',
      `input must be a Float32Array of ${inputSize} values (the prepared input "${spec.name}" [${spec.shape.join(', ')}]) or { image }, got ${got}`,
    );
  }
  for (let i = 0; i < input.length; i++) {
    if (!Number.isFinite(input[i]))
      throw new FoglineError('INVALID_ARG', `input[${i}] is not a finite number`);
  }
  return input;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return typeof value;
}

/** Small typed accessors over decoded tensors, so adapters check names and datatypes in one place. */
import { FoglineError } from '../errors.ts';
import type { Datatype, Tensor, TensorOf } from '../oip.ts';

/** The tensor called `name` with datatype `datatype`, or INVALID_ARG naming what is wrong. */
export function findTensor<D extends Datatype>(
  tensors: readonly Tensor[],
  name: string,
  datatype: D,
): TensorOf<D> {
  const tensor = tensors.find((t) => t.name === name);
  if (!tensor) {
    const names = tensors.map((t) => `"${t.name}"`).join(', ') || 'none';
    throw new FoglineError('INVALID_ARG', `tensor "${name}" is missing (got ${names})`);
  }
  if (tensor.datatype !== datatype) {
    throw new FoglineError(
      'INVALID_ARG',
      `tensor "${name}" has datatype ${tensor.datatype}, expected ${datatype}`,
    );
  }
  return tensor as TensorOf<D>;
}

/** UTF-8 encodes strings into BYTES tensor data. */
export function bytesFromStrings(values: readonly string[]): Uint8Array[] {
  const encoder = new TextEncoder();
  return values.map((v) => encoder.encode(v));
}

/** UTF-8 decodes BYTES tensor data (invalid sequences become U+FFFD). */
export function stringsFromBytes(values: readonly Uint8Array[]): string[] {
  const decoder = new TextDecoder();
  return values.map((v) => decoder.decode(v));
}

/**
 * TensorProto payloads (onnx.proto TensorProto): reading float weights from raw_data or float_data,
 * building the int8/uint8/int32/float initializers a quantized graph needs. raw_data is fixed-width
 * little-endian (onnx.proto: "elements MUST be stored in as fixed-width, little-endian order").
 */
import { FoglineError } from '@fogline/shared';
import { DataType, type OnnxTensor } from './ir.ts';

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/** True when the tensor's bytes live outside the model file (TensorProto.data_location = EXTERNAL). */
export function isExternal(t: OnnxTensor): boolean {
  return t.dataLocation === 1 || (t.externalData ?? []).length > 0;
}

export function assertInline(t: OnnxTensor, source: string): void {
  if (isExternal(t)) {
    throw new FoglineError(
      'INVALID_ARG',
      `${source}: initializer "${t.name}" keeps its data in an external file; save the model with all ` +
        'tensors inside the .onnx file (onnx.save(model, path, save_as_external_data=False))',
      { details: { tensor: t.name } },
    );
  }
}

function copyBytes(raw: Uint8Array): ArrayBuffer {
  // Decoded bytes may be a view at an unaligned offset into the model buffer: copy to align.
  const out = new Uint8Array(raw.byteLength);
  out.set(raw);
  return out.buffer;
}

/** The values of a FLOAT tensor, from raw_data or float_data. */
export function readFloats(t: OnnxTensor): Float32Array {
  if (t.dataType !== DataType.FLOAT) {
    throw new FoglineError(
      'INVALID_ARG',
      `tensor "${t.name}" has data type ${t.dataType}, expected FLOAT (1)`,
    );
  }
  assertInline(t, 'model');
  const count = elementCount(t.dims ?? []);
  const values =
    t.rawData && t.rawData.byteLength > 0
      ? new Float32Array(copyBytes(t.rawData))
      : Float32Array.from(t.floatData ?? []);
  if (values.length !== count) {
    throw new FoglineError(
      'INVALID_ARG',
      `tensor "${t.name}" holds ${values.length} values but its dims ${JSON.stringify(t.dims)} need ${count}`,
    );
  }
  return values;
}

function rawTensor(
  name: string,
  dataType: number,
  dims: readonly number[],
  bytes: ArrayBufferView,
): OnnxTensor {
  const rawData = new Uint8Array(bytes.byteLength);
  rawData.set(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return { name, dataType, dims: [...dims], rawData };
}

export function floatTensor(name: string, dims: readonly number[], values: Float32Array): OnnxTensor {
  return rawTensor(name, DataType.FLOAT, dims, values);
}

export function int8Tensor(name: string, dims: readonly number[], values: Int8Array): OnnxTensor {
  return rawTensor(name, DataType.INT8, dims, values);
}

export function uint8Tensor(name: string, dims: readonly number[], values: Uint8Array): OnnxTensor {
  return rawTensor(name, DataType.UINT8, dims, values);
}

export function int32Tensor(name: string, dims: readonly number[], values: Int32Array): OnnxTensor {
  return rawTensor(name, DataType.INT32, dims, values);
}

/** Serialized payload size in bytes (what the tensor costs in the .onnx file, roughly). */
export function payloadBytes(t: OnnxTensor): number {
  if (t.rawData) return t.rawData.byteLength;
  return 4 * ((t.floatData?.length ?? 0) + (t.int32Data?.length ?? 0)) + 8 * (t.int64Data?.length ?? 0);
}

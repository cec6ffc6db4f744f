/**
 * Open Inference Protocol (KServe v2) types, with Triton's binary tensor data extension.
 * Field names follow the spec: `$inference_request`, `$request_input`, `$request_output`,
 * `$inference_response`, `$response_output`.
 */

// OIP: tensor data types.
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type Datatype = (typeof DATATYPES)[number];
export type NumericDatatype = Exclude<Datatype, 'BYTES'>;

/** Bytes per element in the binary layout (Triton: little-endian, row major, no padding; BOOL is 1 byte). */
export const DATATYPE_BYTE_SIZE: Readonly<Record<NumericDatatype, number>> = Object.freeze({
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  FP32: 4,
  FP64: 8,
});

/**
 * In-memory representation of each datatype. BOOL is 0/1 bytes; FP16 keeps the raw IEEE half bits
 * (Node 20 has no Float16Array); BYTES is one byte string per element.
 */
export interface TensorDataByDatatype {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  BYTES: Uint8Array[];
}

export type NumericTypedArray = TensorDataByDatatype[NumericDatatype];
export type TensorData<D extends Datatype = Datatype> = TensorDataByDatatype[D];

type TypedArrayConstructor<T> = {
  new (length: number): T;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

export const TYPED_ARRAY_OF: {
  readonly [D in NumericDatatype]: TypedArrayConstructor<TensorDataByDatatype[D]>;
} = Object.freeze({
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
});

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

export function isNumericDatatype(value: unknown): value is NumericDatatype {
  return isDatatype(value) && value !== 'BYTES';
}

/** OIP: `$parameter` values are string, number or boolean. */
export type ParameterValue = string | number | boolean;
export type Parameters = Record<string, ParameterValue>;

/** JSON `data` of a tensor: flat or nested row-major arrays (OIP: `$tensor_data`). */
export type JsonTensorData = ReadonlyArray<number | boolean | string | JsonTensorData>;

/** OIP: `$request_input`. Triton binary extension: `parameters.binary_data_size` replaces `data`. */
export interface RequestInput {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Parameters;
  data?: JsonTensorData;
}

/** OIP: `$request_output`. Triton binary extension: `parameters.binary_data` asks for binary. */
export interface RequestOutput {
  name: string;
  parameters?: Parameters;
}

/** OIP: `$inference_request`. Triton: `parameters.binary_data_output` asks for all outputs in binary. */
export interface InferRequest {
  id?: string;
  parameters?: Parameters;
  inputs: RequestInput[];
  outputs?: RequestOutput[];
}

/** OIP: `$response_output`. */
export interface ResponseOutput {
  name: string;
  shape: number[];
  datatype: Datatype;
  parameters?: Parameters;
  data?: JsonTensorData;
}

/** OIP: `$inference_response`. */
export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Parameters;
  outputs: ResponseOutput[];
}

/** OIP: `$inference_error_response`; fogline adds `parameters.error_code` on MQTT replies. */
export interface InferErrorResponse {
  id?: string;
  error: string;
  parameters?: Parameters;
}

/** Header fields of a request or response; the tensors travel separately and the codec fills them in. */
export type InferRequestHeader = Omit<InferRequest, 'inputs'>;
export type InferResponseHeader = Omit<InferResponse, 'outputs'>;

/** A tensor in memory; `datatype` narrows `data`. */
export interface TensorOf<D extends Datatype> {
  name: string;
  datatype: D;
  shape: readonly number[];
  data: TensorDataByDatatype[D];
  parameters?: Parameters;
}
export type Tensor<D extends Datatype = Datatype> = D extends Datatype ? TensorOf<D> : never;

// Triton binary tensor data extension: names.
export const BINARY_DATA_SIZE = 'binary_data_size';
export const BINARY_DATA = 'binary_data';
export const BINARY_DATA_OUTPUT = 'binary_data_output';
export const INFERENCE_HEADER_CONTENT_LENGTH = 'Inference-Header-Content-Length';
export const BINARY_CONTENT_TYPE = 'application/octet-stream';

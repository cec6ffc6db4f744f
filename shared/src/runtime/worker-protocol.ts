/** Messages between the inference engine and its workers (implemented in inference-worker.mjs). */

import type { OrtTypeName } from '../core/tensor-values.ts';

/**
 * Element arrays onnxruntime accepts. The element type follows the array (Float32Array → float32,
 * ...) unless `type` says otherwise: float16 travels as its half bits in a Uint16Array, as the codec
 * holds FP16 (onnxruntime-node accepts and returns Uint16Array for 'float16' where there is no
 * Float16Array).
 */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Int16Array
  | Int32Array
  | BigInt64Array;

export interface TensorValue {
  data: TensorData;
  dims: readonly number[];
  /**
   * onnxruntime's element type (`ORT_TYPE_OF` of a config datatype): required for 'float16', whose
   * Uint16Array would otherwise be read as uint16; set by the worker on every output.
   */
  type?: OrtTypeName | string;
}

export type TensorFeeds = Record<string, TensorValue>;
export type TensorMap = Record<string, TensorValue>;

export type WorkerReply =
  | { type: 'ready'; inputNames: string[]; outputNames: string[]; inputDims: number[][] }
  | { type: 'init-error'; message: string }
  | { type?: undefined; id: number; outputs: TensorMap; error?: undefined; inputs?: ArrayBuffer[] }
  | { type?: undefined; id: number; error: string; outputs?: undefined; inputs?: ArrayBuffer[] };

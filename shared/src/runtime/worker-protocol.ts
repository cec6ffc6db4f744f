/** Messages between the inference engine and its workers (implemented in inference-worker.mjs). */

/** Element arrays onnxruntime accepts; the type follows the array (Float32Array → float32, ...). */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Int32Array
  | BigInt64Array;

export interface TensorValue {
  data: TensorData;
  dims: readonly number[];
}

export type TensorFeeds = Record<string, TensorValue>;
export type TensorMap = Record<string, TensorValue>;

export type WorkerReply =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'init-error'; message: string }
  | { type?: undefined; id: number; outputs: TensorMap; error?: undefined }
  | { type?: undefined; id: number; error: string; outputs?: undefined };

/**
 * Where the device's tiny model runs. onnxruntime-node where a native binary exists, else
 * onnxruntime-web (WASM: 32-bit ARM, browsers); both expose the same InferenceSession API, so one
 * adapter (ort-runtime.ts) serves both and a contract test runs against each.
 */
import type { Tensor, TensorData, TensorDatatype } from '@fogline/shared';

export type RuntimeKind = 'node' | 'web';

/** One input or output of the loaded ONNX graph, as onnxruntime reports it. */
export interface RuntimeTensorInfo {
  readonly name: string;
  /** onnxruntime's element type: 'float32', 'float16', 'uint8', 'int8', ... (`ORT_TYPE_OF` of the core). */
  readonly type: string;
  /** Declared dims; -1 where the graph leaves a dim open (symbolic or unknown). */
  readonly shape: readonly number[];
}

/** The output a run returns: its name and the datatype its config declares. */
export interface RuntimeOutput {
  readonly name: string;
  readonly datatype: TensorDatatype;
}

export interface ModelRuntime {
  readonly kind: RuntimeKind;
  /** The graph's inputs and outputs (connectDevice checks the model config against them). */
  readonly inputs: readonly RuntimeTensorInfo[];
  readonly outputs: readonly RuntimeTensorInfo[];
  /**
   * Runs one typed input (batch 1; FP16 as half bits in a Uint16Array, as the codec holds it) and
   * returns the data of `output` in its datatype's representation, as the model produced it.
   */
  run(input: Tensor<TensorDatatype>, output: RuntimeOutput): Promise<TensorData<TensorDatatype>>;
  close(): Promise<void>;
}

export interface RuntimeModel {
  /** The ONNX file's bytes. */
  bytes: Uint8Array;
}

/** Options of the WASM runtime (browsers mostly). */
export interface WebRuntimeOptions {
  /** Where the ort-wasm*.wasm files are served from (onnxruntime-web `env.wasm.wasmPaths`). */
  wasmPaths?: string;
  /** WASM threads; default 1 (threads need cross-origin isolation in browsers). */
  numThreads?: number;
}

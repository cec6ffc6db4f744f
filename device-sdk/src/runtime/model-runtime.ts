/**
 * Where the device's tiny model runs. onnxruntime-node where a native binary exists, else
 * onnxruntime-web (WASM: 32-bit ARM, browsers); both expose the same InferenceSession API, so one
 * adapter (ort-runtime.ts) serves both and a contract test runs against each.
 */
export type RuntimeKind = 'node' | 'web';

export interface ModelRuntime {
  readonly kind: RuntimeKind;
  /** Runs one input (the model's input shape, batch 1) and returns the first output's values (logits). */
  run(input: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface RuntimeModel {
  /** The ONNX file's bytes. */
  bytes: Uint8Array;
  /** Input shape with batch 1, e.g. [1, 1, 28, 28]. */
  inputShape: readonly number[];
}

/** Options of the WASM runtime (browsers mostly). */
export interface WebRuntimeOptions {
  /** Where the ort-wasm*.wasm files are served from (onnxruntime-web `env.wasm.wasmPaths`). */
  wasmPaths?: string;
  /** WASM threads; default 1 (threads need cross-origin isolation in browsers). */
  numThreads?: number;
}

/** The tiny model on onnxruntime-web (WASM): browsers, and Node where no native binary exists (armv7). */
import type { ModelRuntime, RuntimeModel, WebRuntimeOptions } from './model-runtime.ts';
import { createOrtRuntime, type OrtModule } from './ort-runtime.ts';

interface OrtWebModule extends OrtModule {
  env: { wasm: { numThreads?: number; wasmPaths?: string | Record<string, string> } };
}

export async function createWebRuntime(
  model: RuntimeModel,
  options: WebRuntimeOptions = {},
): Promise<ModelRuntime> {
  const ort = (await import('onnxruntime-web')) as unknown as OrtWebModule;
  ort.env.wasm.numThreads = options.numThreads ?? 1;
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  return createOrtRuntime('web', ort, model, { executionProviders: ['wasm'] });
}

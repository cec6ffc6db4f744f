/** Node entry: picks onnxruntime-node when its native binary loads, else onnxruntime-web (WASM). */
import type { ModelRuntime, RuntimeModel, WebRuntimeOptions } from './model-runtime.ts';
import { createNodeRuntime } from './node-runtime.ts';
import { createWebRuntime } from './web-runtime.ts';

export type RuntimeChoice = 'auto' | 'node' | 'web';

export async function selectRuntime(
  choice: RuntimeChoice,
  model: RuntimeModel,
  webOptions?: WebRuntimeOptions,
): Promise<ModelRuntime> {
  if (choice === 'web') return createWebRuntime(model, webOptions);
  if (choice === 'node') return createNodeRuntime(model);
  try {
    return await createNodeRuntime(model);
  } catch (err) {
    // Only a missing native binary falls back; a bad model fails the same way on both runtimes.
    if ((err as { code?: string }).code !== 'UNAVAILABLE') throw err;
    return createWebRuntime(model, webOptions);
  }
}

/** The tiny model on onnxruntime-node (native CPU binary: linux x64/arm64, macOS, Windows). */
import { FoglineError } from '@fogline/shared';
import type { ModelRuntime, RuntimeModel } from './model-runtime.ts';
import { createOrtRuntime, type OrtModule } from './ort-runtime.ts';

export async function createNodeRuntime(model: RuntimeModel): Promise<ModelRuntime> {
  let ort: OrtModule;
  try {
    ort = (await import('onnxruntime-node')) as unknown as OrtModule;
  } catch (cause) {
    throw new FoglineError('UNAVAILABLE', `onnxruntime-node has no native binary here: ${String(cause)}`, {
      cause,
    });
  }
  // A tiny model gains nothing from thread pools; one thread leaves the cores to the application.
  return createOrtRuntime('node', ort, model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

/**
 * onnxruntime-node's native session, run synchronously on the calling thread. The public
 * `InferenceSession.run` makes the same native call on the next turn of the event loop (a
 * setImmediate), after checking its arguments again, and wraps each output in a new Tensor: for the
 * inline lane, which runs a lone request on the main thread only when nothing waits, that turn and
 * those checks are pure latency (`npm run bench -- cloud`, c=1). onnxruntime-node keeps its binding
 * in `dist/binding.js` (1.x); where it is not found, `openNativeSession` answers undefined and the
 * caller uses the public API.
 */
import { createRequire } from 'node:module';
import type * as ort from 'onnxruntime-node';

export interface NativeSession {
  readonly outputNames: readonly string[];
  /** Runs the model now; `fetches` names the outputs (each null). Throws what onnxruntime throws. */
  run(feeds: Record<string, ort.Tensor>, fetches: Record<string, null>): Record<string, ort.Tensor>;
  release(): void;
}

interface Binding {
  binding: {
    InferenceSession: new () => {
      loadModel(path: string, options: object): void;
      run(feeds: object, fetches: object, options: object): Record<string, ort.Tensor>;
      dispose(): void;
      readonly outputMetadata: readonly { name: string }[];
    };
  };
  initOrt(): void;
}

function loadBinding(): Binding | undefined {
  try {
    const found = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js') as Partial<Binding>;
    const session = found.binding?.InferenceSession?.prototype;
    return typeof found.initOrt === 'function' &&
      typeof session?.loadModel === 'function' &&
      typeof session.run === 'function'
      ? (found as Binding)
      : undefined;
  } catch {
    return undefined;
  }
}

let binding: Binding | undefined | null = null;

/** Loads `modelPath` with `options` (as `InferenceSession.create` takes them); undefined when the binding is not there. */
export function openNativeSession(modelPath: string, options: object): NativeSession | undefined {
  if (binding === null) binding = loadBinding();
  if (binding === undefined) return undefined;
  binding.initOrt();
  const session = new binding.binding.InferenceSession();
  session.loadModel(modelPath, options);
  const none = {};
  return {
    outputNames: session.outputMetadata.map((m) => m.name),
    run: (feeds, fetches) => session.run(feeds, fetches, none),
    release: () => session.dispose(),
  };
}

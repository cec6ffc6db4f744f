/** ModelRuntime over an onnxruntime InferenceSession (the API common to onnxruntime-node and -web). */
import { FoglineError } from '@fogline/shared';
import type { ModelRuntime, RuntimeKind, RuntimeModel } from './model-runtime.ts';

/** The part of the onnxruntime module used here (same in onnxruntime-node and onnxruntime-web). */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => unknown;
}

interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown } | undefined>>;
  release(): Promise<void>;
}

export async function createOrtRuntime(
  kind: RuntimeKind,
  ort: OrtModule,
  model: RuntimeModel,
  sessionOptions: Record<string, unknown>,
): Promise<ModelRuntime> {
  let session: OrtSession;
  try {
    session = await ort.InferenceSession.create(model.bytes, sessionOptions);
  } catch (cause) {
    throw new FoglineError(
      'INVALID_ARG',
      `cannot load the device model with onnxruntime-${kind}: ${String(cause)}`,
      {
        cause,
      },
    );
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0];
  if (inputName === undefined || outputName === undefined) {
    throw new FoglineError('INVALID_ARG', 'the device model must have one input and one output');
  }
  // One run at a time: onnxruntime-web refuses concurrent runs on a session, and the tiny model is fast.
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  return {
    kind,
    run(input) {
      const result = queue.then(async () => {
        if (closed) throw new FoglineError('UNAVAILABLE', 'the device model runtime is closed');
        const outputs = await session.run({
          [inputName]: new ort.Tensor('float32', input, model.inputShape),
        });
        const data = outputs[outputName]?.data;
        if (!(data instanceof Float32Array)) {
          throw new FoglineError('INTERNAL', `device model output "${outputName}" is not FP32`);
        }
        return data;
      });
      queue = result.catch(() => {});
      return result;
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue;
      await session.release();
    },
  };
}

/** ModelRuntime over an onnxruntime InferenceSession (the API common to onnxruntime-node and -web). */
import {
  FoglineError,
  ORT_TYPE_OF,
  type TensorData,
  type TensorDatatype,
  TYPED_ARRAY_OF,
} from '@fogline/shared';
import type { ModelRuntime, RuntimeKind, RuntimeModel, RuntimeTensorInfo } from './model-runtime.ts';

/** The part of the onnxruntime module used here (same in onnxruntime-node and onnxruntime-web). */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: TensorData<TensorDatatype>, dims: readonly number[]) => unknown;
}

/** onnxruntime's InferenceSession.ValueMetadata. */
interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

interface OrtSession {
  readonly inputMetadata: readonly OrtValueMetadata[];
  readonly outputMetadata: readonly OrtValueMetadata[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; type: string } | undefined>>;
  release(): Promise<void>;
}

function infoOf(meta: OrtValueMetadata): RuntimeTensorInfo {
  return {
    name: meta.name,
    type: meta.isTensor ? (meta.type ?? 'unknown') : 'not a tensor',
    shape: (meta.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : -1)),
  };
}

/**
 * Output data in the codec's representation: FP16 as half bits. Where the JS engine has a
 * Float16Array, onnxruntime hands float16 data out as one; its bits are the same bytes.
 */
function asDatatype(data: unknown, datatype: TensorDatatype): TensorData<TensorDatatype> | undefined {
  const view = TYPED_ARRAY_OF[datatype];
  if (data instanceof view) return data;
  if (
    datatype === 'FP16' &&
    ArrayBuffer.isView(data) &&
    (data as { BYTES_PER_ELEMENT?: number }).BYTES_PER_ELEMENT === 2
  ) {
    return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  }
  return undefined;
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
      { cause },
    );
  }
  // One run at a time: onnxruntime-web refuses concurrent runs on a session, and the tiny model is fast.
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  return {
    kind,
    inputs: session.inputMetadata.map(infoOf),
    outputs: session.outputMetadata.map(infoOf),
    run(input, output) {
      const result = queue.then(async () => {
        if (closed) throw new FoglineError('UNAVAILABLE', 'the device model runtime is closed');
        const outputs = await session.run({
          [input.name]: new ort.Tensor(ORT_TYPE_OF[input.datatype], input.data, input.shape),
        });
        const produced = outputs[output.name];
        const data = produced && asDatatype(produced.data, output.datatype);
        if (data === undefined) {
          throw new FoglineError(
            'INTERNAL',
            `device model output "${output.name}" is ${produced?.type ?? 'missing'}, not ${ORT_TYPE_OF[output.datatype]}`,
          );
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

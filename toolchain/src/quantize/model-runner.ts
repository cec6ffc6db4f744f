/**
 * onnxruntime-node adapter: open a session from bytes, run a dataset in batches. Inputs are fed in
 * the datatype the model's config gives (`toTensorData`, `ORT_TYPE_OF`) and outputs come back as real
 * values (`toRealValues`), so FP16 and quantized UINT8/INT8 models run like FP32 ones.
 */
import {
  FoglineError,
  type ModelConfig,
  ORT_TYPE_OF,
  type TensorData,
  type TensorSpec,
  toRealValues,
  toTensorData,
} from '@fogline/shared';
import * as ort from 'onnxruntime-node';
import { batchOf, type Dataset, type DatasetProgress } from '../dataset/dataset.ts';

/** The parts of a model's config the runner needs: its first input and output and what it holds. */
export type ModelSignature = Pick<ModelConfig, 'inputs' | 'outputs' | 'output_kind'>;

/** Opens a session; an onnxruntime load failure becomes a FoglineError naming `what`. */
export async function openSession(
  bytes: Uint8Array,
  what: string,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FoglineError('INVALID_ARG', `onnxruntime cannot load ${what}: ${reason}`, { cause });
  }
}

/** Prepared real values as the tensor the input consumes. */
export function inputTensor(spec: TensorSpec, values: Float32Array, dims: readonly number[]): ort.Tensor {
  return new ort.Tensor(ORT_TYPE_OF[spec.datatype], toTensorData(values, spec) as never, dims);
}

export interface BatchOutputs {
  readonly start: number;
  readonly count: number;
  /** The input values fed for this batch (real values, before the datatype conversion). */
  readonly feed: Float32Array;
  readonly outputs: ort.InferenceSession.OnnxValueMapType;
}

/** Runs every sample through the session in batches of `batchSize`, calling `onBatch` per batch. */
export async function runBatches(
  session: ort.InferenceSession,
  input: TensorSpec,
  set: Dataset,
  batchSize: number,
  onBatch: (b: BatchOutputs) => void,
): Promise<void> {
  for (let start = 0; start < set.count; start += batchSize) {
    const n = Math.min(batchSize, set.count - start);
    const values = batchOf(set, start, n);
    let outputs: ort.InferenceSession.OnnxValueMapType;
    try {
      outputs = await session.run({ [input.name]: inputTensor(input, values, [n, ...set.sampleDims]) });
    } catch (cause) {
      const reason = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
      throw new FoglineError(
        'INVALID_ARG',
        `the model does not run on ${set.source} as input "${input.name}" ${input.datatype} [${n}, ${set.sampleDims.join(', ')}]: ${reason}`,
        { cause },
      );
    }
    onBatch({ start, count: n, feed: values, outputs });
  }
}

export interface Predictions {
  /** Row-major [count, classes] real values of the first output (logits or probabilities). */
  readonly scores: Float32Array;
  readonly classes: number;
  readonly count: number;
}

/** The first output of the model for every sample, dequantized / half-decoded to real values. */
export async function predict(
  session: ort.InferenceSession,
  model: ModelSignature,
  set: Dataset,
  options: { batchSize?: number; onProgress?: (p: DatasetProgress) => void } = {},
): Promise<Predictions> {
  const output = model.outputs[0]!;
  let scores = new Float32Array(0);
  let classes = 0;
  await runBatches(session, model.inputs[0]!, set, options.batchSize ?? 256, ({ start, count, outputs }) => {
    const out = outputs[output.name];
    if (!out) throw new FoglineError('INVALID_ARG', `the model has no output "${output.name}"`);
    let values: Float32Array;
    try {
      values = toRealValues(out.data as TensorData, output);
    } catch (cause) {
      throw new FoglineError(
        'INVALID_ARG',
        `model output "${output.name}" holds ${out.type} values, its config says ${output.datatype}`,
        { cause },
      );
    }
    if (classes === 0) {
      classes = values.length / count;
      scores = new Float32Array(set.count * classes);
    }
    scores.set(values, start * classes);
    options.onProgress?.({ done: start + count, total: set.count });
  });
  return { scores, classes, count: set.count };
}

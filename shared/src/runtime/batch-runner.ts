/**
 * Turns one batch of requests into one onnxruntime run and back. Each input's samples are laid end
 * to end along the batch dim (one copy into a buffer of the runner's own, input-buffers.ts, that is
 * then transferred, not copied, to the worker, which hands it back for a later batch) as the typed
 * array of the input's config datatype (FP32, FP16 as half bits, UINT8, INT8), and each request gets
 * views of its rows of every output, as the typed arrays onnxruntime returned: no copy, since the
 * output buffers belong to this batch alone.
 */
import { FoglineError } from '../core/errors.ts';
import type { ModelConfig, TensorSpec } from '../core/model-config.ts';
import { DATATYPE_BYTE_SIZE, TYPED_ARRAY_OF } from '../core/oip.ts';
import { ORT_TYPE_OF } from '../core/tensor-values.ts';
import type { InferenceEngine, RunOptions, TensorFeeds, TensorMap, TensorValue } from './inference-engine.ts';
import { InputBuffers } from './input-buffers.ts';

/** One validated request as the batcher sees it: `batch` samples of every model input. */
export interface InferItem {
  readonly batch: number;
  /**
   * Per model input, in the model config's order: the bytes of `batch` samples in the input's config
   * datatype (any alignment, so views into a request body will do).
   */
  readonly inputs: readonly Uint8Array[];
  /**
   * When the request's answer is due (`performance.now()` ms), if it has a deadline: a batch carries
   * the earliest of its requests' to an engine that can give up (a remote one); local runs ignore it.
   */
  readonly deadlineAt?: number;
}

export type BatchRun = (items: readonly InferItem[]) => Promise<TensorMap[]>;

/** Elements in one sample of a tensor spec (the shape minus its leading batch dim). */
export function sampleElements(spec: TensorSpec): number {
  let n = 1;
  for (const d of spec.shape.slice(1)) n *= d;
  return n;
}

/** Bytes of one sample of a tensor spec in its datatype. */
export function sampleBytes(spec: TensorSpec): number {
  return sampleElements(spec) * DATATYPE_BYTE_SIZE[spec.datatype];
}

/** `bytes` (a fresh buffer of whole elements) as the feed of an input of `spec`, `dims` long. */
export function feedOf(spec: TensorSpec, bytes: Uint8Array, dims: readonly number[]): TensorValue {
  const Typed = TYPED_ARRAY_OF[spec.datatype];
  const data = new Typed(bytes.buffer, bytes.byteOffset, bytes.byteLength / Typed.BYTES_PER_ELEMENT);
  return { data, dims, type: ORT_TYPE_OF[spec.datatype] };
}

/**
 * `outputs`: the outputs to compute (default all); every result holds exactly those. `inFlight`: how
 * many batches may run at once (buffers of each input kept for reuse).
 */
export function createBatchRunner(
  engine: InferenceEngine,
  config: ModelConfig,
  outputs?: readonly string[],
  inFlight = 2,
): BatchRun {
  const inputs = config.inputs.map((spec) => {
    const bytes = sampleBytes(spec);
    return {
      spec,
      sampleBytes: bytes,
      tail: spec.shape.slice(1),
      buffers: new InputBuffers(config.max_batch_size * bytes, inFlight),
    };
  });
  // Each input's buffer is the runner's whole (input-buffers.ts): transferred, and handed back.
  const recycle = (buffer: ArrayBuffer) => {
    for (const input of inputs) if (input.buffers.recycle(buffer)) return;
  };
  const runOptions: RunOptions = outputs ? { outputs, transfer: true, recycle } : { transfer: true, recycle };

  return async (items) => {
    let total = 0;
    let deadlineAt = Number.POSITIVE_INFINITY;
    for (const item of items) {
      total += item.batch;
      if (item.deadlineAt !== undefined && item.deadlineAt < deadlineAt) deadlineAt = item.deadlineAt;
    }
    const feeds: TensorFeeds = {};
    for (let k = 0; k < inputs.length; k++) {
      const input = inputs[k]!;
      const bytes = input.buffers.take(total * input.sampleBytes);
      let at = 0;
      for (const item of items) {
        const src = item.inputs[k]!;
        bytes.set(src, at);
        at += src.byteLength;
      }
      feeds[input.spec.name] = feedOf(input.spec, bytes, [total, ...input.tail]);
    }
    const options = deadlineAt === Number.POSITIVE_INFINITY ? runOptions : { ...runOptions, deadlineAt };
    return splitRows(await engine.run(feeds, options), items, total);
  };
}

/** Row views of each output for each request, in order. */
function splitRows(outputs: TensorMap, items: readonly InferItem[], total: number): TensorMap[] {
  const results: TensorMap[] = items.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.dims[0] !== total || tensor.data.length % total !== 0) {
      throw new FoglineError(
        'INTERNAL',
        `output "${name}" has shape [${tensor.dims.join(',')}] for a batch of ${total}`,
      );
    }
    const rowLength = tensor.data.length / total;
    const tail = tensor.dims.slice(1);
    let row = 0;
    for (let i = 0; i < items.length; i++) {
      const batch = items[i]!.batch;
      results[i]![name] = {
        data: tensor.data.subarray(row * rowLength, (row + batch) * rowLength),
        dims: [batch, ...tail],
        ...(tensor.type !== undefined && { type: tensor.type }),
      };
      row += batch;
    }
  }
  return results;
}

/** Zero inputs of batch `n`, shaped and typed as the model config says (warm-up runs, the probe). */
export function zeroFeeds(config: ModelConfig, n: number): TensorFeeds {
  const feeds: TensorFeeds = {};
  for (const spec of config.inputs) {
    feeds[spec.name] = feedOf(spec, new Uint8Array(n * sampleBytes(spec)), [n, ...spec.shape.slice(1)]);
  }
  return feeds;
}

/**
 * Turns one batch of requests into one onnxruntime run and back. Each input's samples are laid end
 * to end along the batch dim (one copy into a fresh buffer that is then transferred, not copied, to
 * the worker), and each request gets views of its rows of every output: no copy, since the output
 * buffers belong to this batch alone.
 */
import { FoglineError } from '../core/errors.ts';
import type { ModelConfig, TensorSpec } from '../core/model-config.ts';
import type { InferenceEngine, RunOptions, TensorFeeds, TensorMap } from './inference-engine.ts';

/** One validated request as the batcher sees it: `batch` samples of every model input. */
export interface InferItem {
  readonly batch: number;
  /**
   * Per model input, in the model config's order: the FP32 bytes of `batch` samples (any alignment,
   * so views into a request body will do).
   */
  readonly inputs: readonly Uint8Array[];
}

export type BatchRun = (items: readonly InferItem[]) => Promise<TensorMap[]>;

/** Elements in one sample of a tensor spec (the shape minus its leading batch dim). */
export function sampleElements(spec: TensorSpec): number {
  let n = 1;
  for (const d of spec.shape.slice(1)) n *= d;
  return n;
}

/** `outputs`: the outputs to compute (default all); every result holds exactly those. */
export function createBatchRunner(
  engine: InferenceEngine,
  config: ModelConfig,
  outputs?: readonly string[],
): BatchRun {
  const inputs = config.inputs.map((spec) => ({
    name: spec.name,
    sampleBytes: sampleElements(spec) * Float32Array.BYTES_PER_ELEMENT,
    tail: spec.shape.slice(1),
  }));
  const runOptions: RunOptions = outputs ? { outputs, transfer: true } : { transfer: true };

  return async (items) => {
    let total = 0;
    for (const item of items) total += item.batch;
    const feeds: TensorFeeds = {};
    for (let k = 0; k < inputs.length; k++) {
      const input = inputs[k]!;
      const bytes = new Uint8Array(total * input.sampleBytes);
      let at = 0;
      for (const item of items) {
        const src = item.inputs[k]!;
        bytes.set(src, at);
        at += src.byteLength;
      }
      feeds[input.name] = { data: new Float32Array(bytes.buffer), dims: [total, ...input.tail] };
    }
    return splitRows(await engine.run(feeds, runOptions), items, total);
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
      };
      row += batch;
    }
  }
  return results;
}

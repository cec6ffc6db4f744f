/**
 * Turns a batch of validated requests into one onnxruntime run and back: the inputs are laid end to
 * end along the batch dim (one copy into a fresh buffer that is then transferred, not copied, to the
 * worker), and each request gets views of its rows of every output.
 */
import type { ModelConfig } from '@fogline/shared/model-repository/index';
import type { InferenceEngine, TensorFeeds, TensorMap } from '@fogline/shared/runtime/index';
import { type InferItem, sampleElements } from './infer-input.ts';

export type BatchRun = (items: InferItem[]) => Promise<TensorMap[]>;

export function createBatchRunner(engine: InferenceEngine, config: ModelConfig): BatchRun {
  const inputs = config.inputs.map((spec) => ({
    name: spec.name,
    sampleBytes: sampleElements(spec) * Float32Array.BYTES_PER_ELEMENT,
    tail: spec.shape.slice(1),
  }));

  return async (items) => {
    let total = 0;
    for (const item of items) total += item.batch;
    const feeds: TensorFeeds = {};
    for (const input of inputs) {
      const bytes = new Uint8Array(total * input.sampleBytes);
      let at = 0;
      for (const item of items) {
        const src = item.inputs.get(input.name)!;
        bytes.set(src, at);
        at += src.byteLength;
      }
      feeds[input.name] = { data: new Float32Array(bytes.buffer), dims: [total, ...input.tail] };
    }
    const outputs = await engine.run(feeds, { transfer: true });
    return splitOutputs(outputs, items, total);
  };
}

/** Row views of each output for each request, in order. */
function splitOutputs(outputs: TensorMap, items: InferItem[], total: number): TensorMap[] {
  const results: TensorMap[] = items.map(() => ({}));
  for (const [name, tensor] of Object.entries(outputs)) {
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

/**
 * The mid model as the edge serves it: the shared model instance (`@fogline/shared/runtime`, workers
 * behind the dynamic batcher) fed one validated input row per request, with the edge's settings: a
 * pool that leaves one core to the broker, two batches per worker, and only the model's first output.
 */

import type { Tensor, TensorSpec } from '@fogline/shared';
import { FoglineError, findTensor } from '@fogline/shared';
import type { ModelEntry } from '@fogline/shared/model-repository';
import { defaultEdgeEngineSizing, ModelInstance } from '@fogline/shared/runtime';

export interface EdgeModelOptions {
  readonly entry: ModelEntry;
  /** Model version to serve; default the latest. */
  readonly version?: number;
  /** Inference worker threads; default `defaultEdgeEngineSizing` (one core left to the broker). */
  readonly workers?: number;
  readonly intraOpThreads?: number;
  /** Batching overrides; defaults come from the model config's `max_batch_size` and `dynamic_batching`. */
  readonly maxBatchSize?: number;
  readonly maxQueueDelayMs?: number;
  readonly maxQueueSize?: number;
}

/**
 * Batches handed to each worker at once (`batchesPerWorker`): one running and one waiting in the
 * worker's queue, so the worker goes straight on to the next batch instead of idling while the event
 * loop is busy with the broker and the replies of the batch it just finished.
 */
export const BATCHES_PER_WORKER = 2;

export class EdgeModel {
  readonly input: TensorSpec;
  readonly output: TensorSpec;
  /** `[1, ...]`: the one shape a request's input may have. */
  private readonly requestShape: readonly number[];

  private constructor(private readonly instance: ModelInstance) {
    this.input = instance.config.inputs[0]!;
    this.output = instance.config.outputs[0]!;
    this.requestShape = [1, ...this.input.shape.slice(1)];
  }

  static async load(options: EdgeModelOptions): Promise<EdgeModel> {
    const { entry } = options;
    const { inputs, outputs } = entry.config;
    if (inputs.length !== 1 || outputs.length < 1) {
      throw new FoglineError(
        'INVALID_ARG',
        `model ${entry.name}: the edge serves models of one input and at least one output`,
      );
    }
    const sizing = defaultEdgeEngineSizing(undefined, options.intraOpThreads);
    const instance = await ModelInstance.load(entry, options.version ?? entry.latestVersion, {
      workers: options.workers ?? sizing.workers,
      intraOpThreads: options.intraOpThreads ?? sizing.intraOpThreads,
      maxBatchSize: options.maxBatchSize,
      maxQueueDelayMs: options.maxQueueDelayMs,
      maxQueueSize: options.maxQueueSize,
      batchesPerWorker: BATCHES_PER_WORKER,
      warmupBatchSizes: [1],
      outputs: [outputs[0]!.name],
    });
    return new EdgeModel(instance);
  }

  get name(): string {
    return this.instance.name;
  }

  get version(): number {
    return this.instance.version;
  }

  /** `name:version`, as in a reply's `model_versions`. */
  get label(): string {
    return `${this.name}:${this.version}`;
  }

  get queueDepth(): number {
    return this.instance.batcher.queueDepth;
  }

  /** Batches handed to the workers and not yet answered (at most workers × BATCHES_PER_WORKER). */
  get batchesInFlight(): number {
    return this.instance.batcher.inFlightBatches;
  }

  /**
   * Checks a request's tensors against the model's input (name, datatype, shape `[1, ...]`, finite
   * values) and returns the input tensor. Throws INVALID_ARG naming what is wrong.
   */
  validate(tensors: readonly Tensor[]): Tensor<'FP32'> {
    const tensor = findTensor(tensors, this.input.name, 'FP32');
    const expected = this.requestShape;
    const { shape, data } = tensor;
    if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i])) {
      throw new FoglineError(
        'INVALID_ARG',
        `input "${tensor.name}" has shape [${shape.join(',')}], expected [${expected.join(',')}] (one input per request)`,
      );
    }
    // A plain loop: this runs for every element of every request on the edge's event loop.
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new FoglineError('INVALID_ARG', `input "${tensor.name}": element ${i} is not a finite number`);
      }
    }
    if (tensors.length !== 1) {
      throw new FoglineError(
        'INVALID_ARG',
        `the edge model takes one input ("${this.input.name}"), got ${tensors.length}`,
      );
    }
    return tensor;
  }

  /** Logits of one validated input row (a view of its batch's output); UNAVAILABLE when the queue is full. */
  async infer(row: Float32Array): Promise<Float32Array> {
    const bytes = new Uint8Array(row.buffer, row.byteOffset, row.byteLength);
    const out = await this.instance.infer({ batch: 1, inputs: [bytes] });
    const logits = out[this.output.name]?.data;
    if (!(logits instanceof Float32Array)) {
      throw new FoglineError(
        'INTERNAL',
        `model ${this.name} returned no usable "${this.output.name}" output`,
      );
    }
    return logits;
  }

  /** Finishes queued and running batches, refuses new ones, then frees the workers. */
  close(): Promise<void> {
    return this.instance.retire();
  }
}

/**
 * The mid model as the edge serves it: an onnxruntime worker pool (the shared InferenceEngine) behind
 * the shared DynamicBatcher, fed one validated input at a time. Requests carry one input each
 * (`[1, ...]`); the batcher stacks them into `[N, ...]` batches and hands each back its own logits row.
 */
import { DynamicBatcher } from '@fogline/shared/batching/index';
import { findTensor } from '@fogline/shared/codec';
import { FoglineError } from '@fogline/shared/errors';
import type { ModelEntry, TensorSpec } from '@fogline/shared/model-repository/index';
import type { Tensor } from '@fogline/shared/oip';
import {
  createInferenceEngine,
  defaultEdgeEngineSizing,
  type InferenceEngine,
} from '@fogline/shared/runtime/index';

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
 * Batches handed to each worker at once: one running and one waiting in the worker's own queue, so a
 * worker goes straight on to the next batch instead of idling until the event loop (busy with the
 * broker and the replies of the batch it just finished) gets round to dispatching one. The second
 * batch only forms under load: a request that finds the workers idle still goes at once.
 */
export const BATCHES_PER_WORKER = 2;

export class EdgeModel {
  readonly name: string;
  readonly version: number;
  readonly input: TensorSpec;
  readonly output: TensorSpec;
  /** Elements of one input row (e.g. 784 for 1×28×28). */
  private readonly rowElements: number;
  private readonly rowShape: number[];
  /** `[1, ...rowShape]`: the one shape a request's input may have. */
  private readonly requestShape: readonly number[];
  private readonly batcher: DynamicBatcher<Float32Array, Float32Array>;

  private constructor(
    entry: ModelEntry,
    version: number,
    private readonly engine: InferenceEngine,
    options: EdgeModelOptions,
  ) {
    const { config } = entry;
    this.name = entry.name;
    this.version = version;
    this.input = config.inputs[0]!;
    this.output = config.outputs[0]!;
    this.rowShape = this.input.shape.slice(1).map((d) => (d === -1 ? Number.NaN : d));
    if (this.rowShape.some((d) => Number.isNaN(d))) {
      throw new FoglineError('INVALID_ARG', `model ${entry.name}: only the batch dimension may be variable`);
    }
    this.rowElements = this.rowShape.reduce((a, b) => a * b, 1);
    this.requestShape = [1, ...this.rowShape];
    const batching = config.dynamic_batching;
    this.batcher = new DynamicBatcher({
      maxBatchSize: options.maxBatchSize ?? config.max_batch_size,
      maxQueueDelayMs: options.maxQueueDelayMs ?? batching.max_queue_delay_ms,
      maxQueueSize: options.maxQueueSize ?? batching.max_queue_size,
      preferredBatchSizes: batching.preferred_batch_size,
      maxConcurrentBatches: engine.workers * BATCHES_PER_WORKER,
      run: (rows) => this.runBatch(rows),
    });
  }

  static async load(options: EdgeModelOptions): Promise<EdgeModel> {
    const version = options.version ?? options.entry.latestVersion;
    const sizing = defaultEdgeEngineSizing(undefined, options.intraOpThreads);
    const engine = await createInferenceEngine({
      modelPath: options.entry.modelPath(version),
      workers: options.workers ?? sizing.workers,
      intraOpThreads: options.intraOpThreads ?? sizing.intraOpThreads,
    });
    try {
      const model = new EdgeModel(options.entry, version, engine, options);
      await engine.warmup({
        [model.input.name]: { data: new Float32Array(model.rowElements), dims: [1, ...model.rowShape] },
      });
      return model;
    } catch (err) {
      await engine.close();
      throw err;
    }
  }

  /** `name:version`, as in a reply's `model_versions`. */
  get label(): string {
    return `${this.name}:${this.version}`;
  }

  get queueDepth(): number {
    return this.batcher.queueDepth;
  }

  /** Batches handed to the workers and not yet answered (at most workers × BATCHES_PER_WORKER). */
  get batchesInFlight(): number {
    return this.batcher.inFlightBatches;
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

  /** Logits of one validated input row; rejects with UNAVAILABLE when the queue is full. */
  infer(row: Float32Array): Promise<Float32Array> {
    return this.batcher.submit(row);
  }

  /** Finishes queued and running batches, refuses new ones, then frees the workers. */
  async close(): Promise<void> {
    await this.batcher.drain();
    await this.engine.close();
  }

  private async runBatch(rows: Float32Array[]): Promise<Float32Array[]> {
    const n = rows.length;
    const data = new Float32Array(n * this.rowElements);
    for (let i = 0; i < n; i++) data.set(rows[i]!, i * this.rowElements);
    const out = await this.engine.run(
      { [this.input.name]: { data, dims: [n, ...this.rowShape] } },
      { outputs: [this.output.name], transfer: true },
    );
    const logits = out[this.output.name]?.data;
    if (!(logits instanceof Float32Array) || logits.length % n !== 0) {
      throw new FoglineError(
        'INTERNAL',
        `model ${this.name} returned no usable "${this.output.name}" output`,
      );
    }
    const k = logits.length / n;
    // Views, not copies: the batch's output buffer is this batch's alone.
    return rows.map((_, i) => logits.subarray(i * k, (i + 1) * k));
  }
}

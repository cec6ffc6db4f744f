/**
 * One loaded model version as both tiers serve it: the InferenceEngine (a pool of onnxruntime
 * workers) behind the DynamicBatcher, joined by the batch runner. What differs between the cloud and
 * the edge comes in as options: batches handed to each worker at once, the batch sizes that warm the
 * workers, the pool size (each tier has its own default sizing) and batching overrides of config.json.
 * An instance is immutable once loaded; a reload builds a new one and retires the old.
 */
import { DynamicBatcher } from '../core/batching/index.ts';
import type { ModelConfig } from '../core/model-config.ts';
import type { ModelEntry } from '../model-repository/index.ts';
import { createBatchRunner, type InferItem, zeroFeeds } from './batch-runner.ts';
import { checkBatchableInputs } from './batchable-inputs.ts';
import { type BatchingSettings, batchingSettings } from './batching-settings.ts';
import { createInferenceEngine, type InferenceEngine, type TensorMap } from './inference-engine.ts';
import { chooseSizing, type SizingRequest } from './sizing-choice.ts';

/**
 * Sizing (`sizing`, `tier`, `probeDir`, `workers`, `intraOpThreads`) and batching overrides are
 * resolved by `chooseSizing` (sizing-choice.ts): the tier's core-count rule by default, the probe
 * when `sizing: 'probe'`.
 */
export interface ModelInstanceOptions extends SizingRequest {
  /**
   * Batches handed to each worker at once. With 2, one batch runs while the next waits in the
   * worker's own queue, so the worker goes straight on instead of idling until the event loop gets
   * round to dispatching; the second batch only forms under load (a request that finds the workers
   * idle still goes at once, alone), but the queue is split into more, smaller batches. Default 1:
   * on the cloud gateway (2 cores, `npm run bench -- cloud`) 2 halved the mean batch at concurrency
   * 64 and gained no throughput. The edge, whose event loop also runs the devices' broker, uses 2.
   */
  readonly batchesPerWorker?: number;
  /** Batch sizes every worker runs once (on zeros) before serving; default `[1, maxBatchSize]`. */
  readonly warmupBatchSizes?: readonly number[];
  /** Outputs to compute and return; default all of the model's. */
  readonly outputs?: readonly string[];
  /**
   * Lets a lone, cheap single-sample request run on the event loop's thread when the engine is idle
   * (InferenceEngineOptions.inlineMaxMs, inline-lane.ts); default off. The cloud turns it on.
   */
  readonly inlineMaxMs?: number;
  /** Start the workers one at a time (InferenceEngineOptions.oneByOne); default all at once. */
  readonly oneByOne?: boolean;
}

/** What an instance is built from; `ModelInstance.load` makes one (tests may inject an engine). */
export interface ModelInstanceParts {
  readonly entry: ModelEntry;
  readonly version: number;
  readonly engine: InferenceEngine;
  readonly batching: BatchingSettings;
  readonly batchesPerWorker: number;
  readonly outputs?: readonly string[];
  /** How it was sized, one line (sizing-choice.ts); default none. */
  readonly sizingLine?: string;
}

export class ModelInstance {
  readonly name: string;
  readonly version: number;
  readonly config: ModelConfig;
  readonly batching: Readonly<BatchingSettings>;
  readonly engine: InferenceEngine;
  readonly batcher: DynamicBatcher<InferItem, TensorMap>;
  /** How this instance was sized and why, one line for the log. */
  readonly sizingLine: string;

  constructor(parts: ModelInstanceParts) {
    this.name = parts.entry.name;
    this.version = parts.version;
    this.config = parts.entry.config;
    this.batching = Object.freeze({ ...parts.batching });
    this.engine = parts.engine;
    this.sizingLine = parts.sizingLine ?? '';
    this.batcher = new DynamicBatcher<InferItem, TensorMap>({
      ...this.batching,
      maxConcurrentBatches: parts.engine.workers * parts.batchesPerWorker,
      sizeOf: (item) => item.batch,
      run: createBatchRunner(
        parts.engine,
        this.config,
        parts.outputs,
        parts.engine.workers * parts.batchesPerWorker,
      ),
    });
  }

  /**
   * Loads `version` of `entry`, warms every worker and returns once it can serve (an instance of
   * the class it is called on). INVALID_ARG for inputs it cannot batch, in config.json or in the
   * ONNX file (checkBatchableInputs: a variable non-batch dim, a fixed batch dim past max_batch_size).
   */
  static async load<T extends ModelInstance>(
    this: new (
      parts: ModelInstanceParts,
    ) => T,
    entry: ModelEntry,
    version: number,
    options: ModelInstanceOptions = {},
  ): Promise<T> {
    const { name, config } = entry;
    checkBatchableInputs(name, config.inputs, options.maxBatchSize ?? config.max_batch_size, 'config.json');
    const modelPath = entry.modelPath(version);
    const sizing = await chooseSizing(entry.config, version, modelPath, options);
    const batching = batchingSettings(entry.config, sizing.batching);
    const engine = await createInferenceEngine({
      modelPath,
      workers: sizing.workers,
      intraOpThreads: sizing.intraOpThreads,
      inlineMaxMs: options.inlineMaxMs,
      oneByOne: options.oneByOne,
    });
    try {
      // The ONNX file's own dims, which config.json may not have told (it is not read against it at load).
      const declared = engine.inputNames.map((input, i) => ({
        name: input,
        shape: engine.inputDims[i] ?? [],
      }));
      checkBatchableInputs(name, declared, batching.maxBatchSize, modelPath);
      // Warm both ends by default, so neither the first lone request nor the first full batch pays
      // for allocation.
      for (const n of options.warmupBatchSizes ?? [1, batching.maxBatchSize]) {
        await engine.warmup(zeroFeeds(entry.config, n));
      }
      const batchesPerWorker = options.batchesPerWorker ?? 1;
      const { outputs } = options;
      return new this({
        entry,
        version,
        engine,
        batching,
        batchesPerWorker,
        outputs,
        sizingLine: sizing.line,
      });
    } catch (err) {
      await engine.close();
      throw err;
    }
  }

  /** Queues one validated request; resolves with its rows of every output. */
  infer(item: InferItem): Promise<TensorMap> {
    return this.batcher.submit(item);
  }

  /** Finishes queued and running requests, refuses new ones, then frees the workers. */
  async retire(): Promise<void> {
    await this.batcher.drain();
    await this.engine.close();
  }
}

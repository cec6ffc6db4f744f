/**
 * One loaded model version: its onnxruntime worker pool behind a dynamic batcher, and its statistics.
 * A ModelInstance is immutable once ready; a reload builds a new one and swaps it in (model-server.ts).
 */
import { DynamicBatcher } from '@fogline/shared/batching/index';
import type { CodecLimits } from '@fogline/shared/codec';
import { FoglineError } from '@fogline/shared/errors';
import type { ModelConfig, ModelEntry } from '@fogline/shared/model-repository/index';
import {
  createInferenceEngine,
  type InferenceEngine,
  type TensorFeeds,
  type TensorMap,
} from '@fogline/shared/runtime/index';
import { createBatchRunner } from './batch-runner.ts';
import { codecLimitsFor, type InferItem, sampleElements } from './infer-input.ts';
import { RequestStats } from './request-stats.ts';
import type { ServingOptions } from './serving-options.ts';

export interface BatchingSettings {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  preferredBatchSizes: readonly number[];
}

export class ModelInstance {
  readonly requests = new RequestStats();
  /** Codec bounds for requests to this version (see codecLimitsFor). */
  readonly codecLimits: Partial<CodecLimits>;

  private constructor(
    readonly name: string,
    readonly version: number,
    readonly config: ModelConfig,
    readonly batching: Readonly<BatchingSettings>,
    readonly engine: InferenceEngine,
    readonly batcher: DynamicBatcher<InferItem, TensorMap>,
  ) {
    this.codecLimits = codecLimitsFor(config, batching.maxBatchSize);
  }

  /** Loads `version` of `entry`, warms every worker, and returns once it can serve. */
  static async load(entry: ModelEntry, version: number, options: ServingOptions): Promise<ModelInstance> {
    for (const spec of entry.config.inputs) {
      if (spec.shape.slice(1).some((d) => d < 1)) {
        throw new FoglineError(
          'INVALID_ARG',
          `model "${entry.name}": input "${spec.name}" has a variable non-batch dim [${spec.shape.join(',')}]; dynamic batching needs fixed sample shapes`,
        );
      }
    }
    const batching = batchingSettings(entry.config, options);
    const engine = await createInferenceEngine({
      modelPath: entry.modelPath(version),
      workers: options.workers,
      intraOpThreads: options.intraOpThreads,
    });
    try {
      // Warm both ends so neither the first lone request nor the first full batch pays for allocation.
      await engine.warmup();
      const full: TensorFeeds = {};
      for (const spec of entry.config.inputs) {
        const dims = [batching.maxBatchSize, ...spec.shape.slice(1)];
        full[spec.name] = { data: new Float32Array(batching.maxBatchSize * sampleElements(spec)), dims };
      }
      await engine.warmup(full);
    } catch (err) {
      await engine.close();
      throw err;
    }
    const batcher = new DynamicBatcher<InferItem, TensorMap>({
      ...batching,
      maxConcurrentBatches: engine.workers,
      sizeOf: (item) => item.batch,
      run: createBatchRunner(engine, entry.config),
    });
    return new ModelInstance(entry.name, version, entry.config, Object.freeze(batching), engine, batcher);
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

/** Triton: config.json `dynamic_batching` and `max_batch_size`, each overridable from the command line. */
export function batchingSettings(config: ModelConfig, options: ServingOptions): BatchingSettings {
  const maxBatchSize = options.maxBatchSize ?? config.max_batch_size;
  return {
    maxBatchSize,
    maxQueueDelayMs: options.maxQueueDelayMs ?? config.dynamic_batching.max_queue_delay_ms,
    maxQueueSize: options.maxQueueSize ?? config.dynamic_batching.max_queue_size,
    preferredBatchSizes: (options.preferredBatchSizes ?? config.dynamic_batching.preferred_batch_size).filter(
      (n) => n <= maxBatchSize,
    ),
  };
}

/** The dynamic batching a model instance runs with: its config.json, with overrides from the command line. */
import type { ModelConfig } from '../core/model-config.ts';

export interface BatchingSettings {
  maxBatchSize: number;
  maxQueueDelayMs: number;
  maxQueueSize: number;
  preferredBatchSizes: readonly number[];
  /** The batcher's adaptive queue delay (`maxQueueDelayMs` is then its cap); off by default. */
  adaptiveQueueDelay: boolean;
}

export interface BatchingOverrides {
  /** Overrides config.json `max_batch_size`. */
  readonly maxBatchSize?: number;
  /** Overrides config.json `dynamic_batching.max_queue_delay_ms`. */
  readonly maxQueueDelayMs?: number;
  /** Overrides config.json `dynamic_batching.max_queue_size`. */
  readonly maxQueueSize?: number;
  /** Overrides config.json `dynamic_batching.preferred_batch_size`. */
  readonly preferredBatchSizes?: readonly number[];
  /** Set by `--sizing probe` (sizing-choice.ts); config.json has no such field. */
  readonly adaptiveQueueDelay?: boolean;
}

/** Triton: config.json `dynamic_batching` and `max_batch_size`, each overridable. */
export function batchingSettings(config: ModelConfig, overrides: BatchingOverrides): BatchingSettings {
  const maxBatchSize = overrides.maxBatchSize ?? config.max_batch_size;
  return {
    maxBatchSize,
    maxQueueDelayMs: overrides.maxQueueDelayMs ?? config.dynamic_batching.max_queue_delay_ms,
    maxQueueSize: overrides.maxQueueSize ?? config.dynamic_batching.max_queue_size,
    preferredBatchSizes: (
      overrides.preferredBatchSizes ?? config.dynamic_batching.preferred_batch_size
    ).filter((n) => n <= maxBatchSize),
    adaptiveQueueDelay: overrides.adaptiveQueueDelay ?? false,
  };
}

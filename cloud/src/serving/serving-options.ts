/**
 * How models are served. Every field is optional: absent batching fields come from each model's
 * config.json, absent engine fields from the core count (defaultEngineSizing).
 */
export interface ServingOptions {
  /** onnxruntime sessions (worker_threads) per model version. */
  workers?: number;
  /** Intra-op threads per session. */
  intraOpThreads?: number;
  /** Overrides config.json `max_batch_size` for every model. */
  maxBatchSize?: number;
  /** Overrides config.json `dynamic_batching.max_queue_delay_ms`. */
  maxQueueDelayMs?: number;
  /** Overrides config.json `dynamic_batching.max_queue_size`. */
  maxQueueSize?: number;
  /** Overrides config.json `dynamic_batching.preferred_batch_size`. */
  preferredBatchSizes?: readonly number[];
}

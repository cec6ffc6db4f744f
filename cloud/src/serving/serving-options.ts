/**
 * How models are served. Every field is optional: absent batching fields come from each model's
 * config.json, absent engine fields from the core count (defaultEngineSizing).
 */
import { intIn, numberIn } from '@fogline/shared';

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

/** What each serving override may be; `fogline cloud` parses its flags with the same rules. */
export const SERVING_RULES = Object.freeze({
  workers: intIn(1, 64),
  intraOpThreads: intIn(1, 256),
  maxBatchSize: intIn(1, 4096),
  maxQueueDelayMs: numberIn(0, 60_000),
  maxQueueSize: intIn(1, 1_000_000),
  /** Each listed size. */
  preferredBatchSize: intIn(1, 4096),
});

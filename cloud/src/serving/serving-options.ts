/**
 * How models are served. Every field is optional: absent batching fields come from each model's
 * config.json, absent engine fields from `sizing`: the core count (defaultEngineSizing) by default,
 * the model's measured cost with `probe` (@fogline/shared/runtime sizing-choice.ts).
 */
import { intIn, numberIn, oneOf } from '@fogline/shared';
import { SIZING_MODES, type SizingMode } from '@fogline/shared/runtime';
import type { RemoteServingOptions } from './remote/index.ts';

export interface ServingOptions {
  /**
   * `probe`: each model version is sized from its cost measured at load (≈ 1 s, cached per model
   * file and machine in `probeDir`); `default`: the core-count rule. `fogline cloud` probes unless
   * told `--sizing default`; the options object defaults to `default` (no probe in tests).
   */
  sizing?: SizingMode;
  /** Where the probe cache lives; `resolveCloudOptions` sets the data dir. */
  probeDir?: string;
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
  /** Models with an OIP `backend` (remote/): where header `${ENV}`s are read, their breaker. */
  remote?: RemoteServingOptions;
  /**
   * A lone single-sample request whose model runs in at most this many ms runs on the event loop's
   * thread when the model's workers are idle, skipping the worker hop (@fogline/shared/runtime
   * inline-lane.ts); 0 turns it off. Default DEFAULT_INLINE_MAX_MS.
   */
  inlineMaxMs?: number;
}

/**
 * The event loop may be held this long by a lone request at idle: a few HTTP requests' worth, where
 * the worker hop it saves is most of the gateway's own latency at concurrency 1 (docs/cloud.md).
 */
export const DEFAULT_INLINE_MAX_MS = 2;

/** What each serving override may be; `fogline cloud` parses its flags with the same rules. */
export const SERVING_RULES = Object.freeze({
  sizing: oneOf(SIZING_MODES),
  workers: intIn(1, 64),
  intraOpThreads: intIn(1, 256),
  maxBatchSize: intIn(1, 4096),
  maxQueueDelayMs: numberIn(0, 60_000),
  maxQueueSize: intIn(1, 1_000_000),
  /** Each listed size. */
  preferredBatchSize: intIn(1, 4096),
  inlineMaxMs: numberIn(0, 1000),
});

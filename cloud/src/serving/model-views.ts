/** JSON views of a serving model: OIP model metadata and Triton's statistics extension. */
import type { OutputKind, TensorQuantization, TensorSpec, Tier } from '@fogline/shared';
import type { ModelInstance } from './model-instance.ts';
import type { DurationCounter } from './request-stats.ts';

/** OIP: `$metadata_tensor`, plus fogline's `parameters.quantization` when the config sets one. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: { quantization: TensorQuantization };
}

/**
 * OIP: `$metadata_model_response`; the batch dim is -1 as in the model config. fogline adds, without
 * changing any OIP field, what an edge needs to escalate to the model (wire.md): its tier, what its
 * first output holds and its labels, and each tensor's quantization.
 */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  parameters: { tier: Tier; output_kind: OutputKind; labels: string[] };
}

export function modelMetadata(instance: ModelInstance): ModelMetadata {
  const { config } = instance;
  const tensor = (t: TensorSpec): TensorMetadata => ({
    name: t.name,
    datatype: t.datatype,
    shape: [...t.shape],
    ...(t.quantization && { parameters: { quantization: { ...t.quantization } } }),
  });
  return {
    name: instance.name,
    versions: [String(instance.version)],
    platform: config.platform,
    inputs: config.inputs.map(tensor),
    outputs: config.outputs.map(tensor),
    parameters: { tier: config.tier, output_kind: config.output_kind, labels: [...config.labels] },
  };
}

interface Duration {
  count: number;
  ns: number;
}

/** Triton statistics extension: `$model_stat`. */
export interface ModelStatistics {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: {
    success: Duration;
    fail: Duration;
    queue: Duration;
    compute_input: Duration;
    compute_infer: Duration;
    compute_output: Duration;
    cache_hit: Duration;
    cache_miss: Duration;
  };
  batch_stats: {
    batch_size: number;
    compute_input: Duration;
    compute_infer: Duration;
    compute_output: Duration;
  }[];
  /** fogline additions: queue-full refusals, queue state, and the settings batches were formed with. */
  rejected_queue_full: number;
  queue_depth: number;
  /** Requests accepted and not yet answered (queued or in a running batch). */
  pending_requests: number;
  dynamic_batching: { max_batch_size: number; max_queue_delay_ms: number; max_queue_size: number };
}

const ns = (ms: number) => Math.round(ms * 1e6);
const duration = (d: DurationCounter): Duration => ({ count: d.count, ns: ns(d.ms) });

export function modelStatistics(instance: ModelInstance): ModelStatistics {
  const b = instance.batcher.stats.snapshot();
  const r = instance.requests;
  return {
    name: instance.name,
    version: String(instance.version),
    last_inference: r.lastInferenceAt,
    inference_count: b.inferences,
    execution_count: b.executions,
    inference_stats: {
      success: { count: r.successCount, ns: ns(r.successMs) },
      fail: { count: r.failCount, ns: ns(r.failMs) },
      // Triton: queue and compute cover successful requests only (a failure counts in `fail`); the
      // queue count includes cache hits, which here wait in no queue (0 ns).
      queue: { count: b.success + r.cacheHit.count, ns: ns(b.queueMs) },
      compute_input: duration(r.computeInput),
      compute_infer: { count: b.executions, ns: ns(b.computeMs) },
      compute_output: duration(r.computeOutput),
      cache_hit: duration(r.cacheHit),
      cache_miss: duration(r.cacheMiss),
    },
    // Requests are decoded and encoded one by one, before and after batching: a batch's own
    // compute_input and compute_output are zero (Triton's shape, `{count, ns}`).
    batch_stats: b.batches.map((s) => ({
      batch_size: s.batchSize,
      compute_input: { count: 0, ns: 0 },
      compute_infer: { count: s.count, ns: ns(s.computeMs) },
      compute_output: { count: 0, ns: 0 },
    })),
    rejected_queue_full: b.rejected,
    queue_depth: instance.batcher.queueDepth,
    pending_requests: instance.batcher.pendingCount,
    dynamic_batching: {
      max_batch_size: instance.batching.maxBatchSize,
      max_queue_delay_ms: instance.batching.maxQueueDelayMs,
      max_queue_size: instance.batching.maxQueueSize,
    },
  };
}

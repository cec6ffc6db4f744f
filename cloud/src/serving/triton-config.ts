/**
 * A model's configuration in Triton's JSON form, as fogline serves it (the other way, a load
 * request's config applied over config.json, is triton-config-override.ts):
 * - `tritonModelConfig(instance)`: what `GET /v2/models/{m}[/versions/{v}]/config` answers (Triton's
 *   `ModelConfig` as its HTTP endpoint writes it: `input`/`output` with `data_type: "TYPE_FP32"` and
 *   `dims` without the batch dim, `dynamic_batching` in microseconds, `instance_group`, and fogline's
 *   own fields under `parameters: {key: {string_value}}`), with the settings the version serves with.
 */
import type { ModelConfig, OipBackend, TensorSpec } from '@fogline/shared';
import type { ModelInstance } from './model-instance.ts';

interface TritonTensor {
  name: string;
  data_type: string;
  dims: number[];
}

/** `parameters` map entry, as Triton's `ModelParameter`. */
interface StringParameter {
  string_value: string;
}

export interface TritonModelConfig {
  name: string;
  /** `onnxruntime_onnx`, or a model served elsewhere: its remote's platform, backend `oip`. */
  platform: string;
  backend: 'onnxruntime' | 'oip';
  version_policy: { latest: { num_versions: number } };
  max_batch_size: number;
  input: TritonTensor[];
  output: TritonTensor[];
  dynamic_batching: {
    preferred_batch_size: number[];
    max_queue_delay_microseconds: number;
    default_queue_policy: { max_queue_size: number };
  };
  instance_group: { name: string; kind: 'KIND_CPU'; count: number }[];
  default_model_filename: 'model.onnx';
  /** Whether the model's answers may come from the server's response cache (Triton prints false too). */
  response_cache: { enable: boolean };
  parameters: Record<string, StringParameter>;
}

/** Triton's view of a serving version: its config.json with the batching and sizing it runs with. */
export function tritonModelConfig(instance: ModelInstance): TritonModelConfig {
  const { config, batching, engine } = instance;
  const tensor = (t: TensorSpec): TritonTensor => ({
    name: t.name,
    data_type: `TYPE_${t.datatype}`,
    // fogline models always batch (max_batch_size >= 1): Triton leaves the batch dim out.
    dims: t.shape.slice(1),
  });
  const parameters: Record<string, StringParameter> = {
    tier: { string_value: config.tier },
    output_kind: { string_value: config.output_kind },
    routing: { string_value: JSON.stringify(config.routing) },
    preprocessing: { string_value: JSON.stringify(config.preprocessing) },
  };
  // onnxruntime's threads: a model served elsewhere runs none here.
  if (!config.backend) parameters.intra_op_thread_count = { string_value: String(engine.intraOpThreads) };
  if (config.description !== '') parameters.description = { string_value: config.description };
  if (config.labels.length > 0) parameters.labels = { string_value: JSON.stringify(config.labels) };
  if (config.backend) parameters.backend = { string_value: JSON.stringify(backendView(config.backend)) };
  const quantization = quantizationOf(config);
  if (quantization) parameters.quantization = { string_value: JSON.stringify(quantization) };
  return {
    name: instance.name,
    platform: config.platform,
    backend: config.backend ? 'oip' : 'onnxruntime',
    version_policy: { latest: { num_versions: 1 } },
    max_batch_size: batching.maxBatchSize,
    input: config.inputs.map(tensor),
    output: config.outputs.map(tensor),
    dynamic_batching: {
      preferred_batch_size: [...batching.preferredBatchSizes],
      max_queue_delay_microseconds: Math.round(batching.maxQueueDelayMs * 1000),
      default_queue_policy: { max_queue_size: batching.maxQueueSize },
    },
    instance_group: [{ name: instance.name, kind: 'KIND_CPU', count: engine.workers }],
    default_model_filename: 'model.onnx',
    response_cache: { enable: config.response_cache?.enable === true },
    parameters,
  };
}

/** Where a model served elsewhere is served, as `parameters.backend` shows it: never its headers (they may hold credentials). */
export function backendView(backend: OipBackend): Record<string, unknown> {
  const { kind, url, model, version, timeout_ms } = backend;
  return { kind, url, model, version, timeout_ms };
}

/** Per tensor name: the quantization of config.json, in a `parameters` entry and in load overrides. */
export type QuantizationMap = Record<string, { scale: number; zero_point: number }>;

function quantizationOf(config: ModelConfig): QuantizationMap | undefined {
  const out: QuantizationMap = {};
  for (const t of [...config.inputs, ...config.outputs])
    if (t.quantization) out[t.name] = { ...t.quantization };
  return Object.keys(out).length > 0 ? out : undefined;
}

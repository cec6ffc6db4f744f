/**
 * A repository load request's `config` (`{"parameters": {"config": "<JSON text>"}}`, as tritonclient's
 * `load_model(config=...)` sends), in Triton's field names or fogline's, applied over the model's
 * config.json and validated like it (the view the other way is triton-config.ts). What fogline cannot
 * honour is refused with the field's name, never dropped.
 *
 * As in Triton, an override replaces the top-level fields it names (a `dynamic_batching` it names
 * is taken whole, absent members at their defaults); fields it does not name come from config.json,
 * as Triton's auto-complete fills them from the model. It lasts until the next load without one.
 */
import {
  FoglineError,
  type ModelConfig,
  parseModelConfig,
  TENSOR_DATATYPES,
  type TensorSpec,
} from '@fogline/shared';
import { SERVING_RULES, type ServingOptions } from './serving-options.ts';
import { backendView, type QuantizationMap } from './triton-config.ts';

/** A load request's override, applied: the config to serve and the serving settings it sets. */
export interface AppliedOverride {
  config: ModelConfig;
  /** Settings the override names; they win over the server's flags for this model. */
  serving: ServingOptions;
  /** Whether it changes the tensors (then they are checked against the ONNX graph). */
  changesTensors: boolean;
}

/**
 * Applies `override` (a parsed load-request config) over `base`. INVALID_ARG naming the field for
 * anything invalid or that fogline cannot honour.
 */
export function applyConfigOverride(base: ModelConfig, override: unknown, name: string): AppliedOverride {
  const where = `load config of model "${name}"`;
  const fail = (field: string, problem: string): never => {
    throw new FoglineError('INVALID_ARG', `${where}: field "${field}" ${problem}`, {
      details: { field },
    });
  };
  if (typeof override !== 'object' || override === null || Array.isArray(override)) {
    throw new FoglineError('INVALID_ARG', `${where}: must be a JSON object`);
  }
  const o = override as Record<string, unknown>;
  // Start from config.json as parsed (the parsed form is a valid config.json).
  const raw: Record<string, unknown> = { ...base };
  const serving: ServingOptions = {};
  const params = parametersOf(o.parameters, fail);

  for (const [key, value] of Object.entries(o)) {
    switch (key) {
      case 'name':
      case 'platform':
      case 'max_batch_size':
      case 'tier':
      case 'description':
      case 'output_kind':
      case 'preprocessing':
      case 'routing':
      case 'labels':
      case 'response_cache':
        raw[key] = value;
        break;
      case 'inputs':
      case 'outputs':
        raw[key] = value;
        break;
      case 'input':
      case 'output': {
        const field = `${key}s` as 'inputs' | 'outputs';
        raw[field] = tensorsFromTriton(value, key, base[field], fail);
        break;
      }
      case 'backend':
        // A model served elsewhere (config.json `backend`) shows "oip"; where it is served is config.json's.
        if (base.backend && value !== 'oip') fail(key, 'must be "oip" (the model is served by its remote)');
        if (!base.backend && value !== 'onnxruntime') {
          fail(key, 'must be "onnxruntime" (fogline serves ONNX models only)');
        }
        break;
      case 'dynamic_batching':
        raw.dynamic_batching = dynamicBatchingFromTriton(value, fail);
        break;
      case 'instance_group': {
        // A model served elsewhere: the count is its backend's, checked unchanged.
        const count = workersFromInstanceGroup(value, fail, base.backend?.max_connections);
        if (!base.backend) serving.workers = count;
        break;
      }
      case 'version_policy':
        checkVersionPolicy(value, fail);
        break;
      case 'default_model_filename':
        if (value !== 'model.onnx') fail(key, 'must be "model.onnx" (fogline loads <version>/model.onnx)');
        break;
      case 'parameters':
        break;
      default:
        fail(key, 'is not supported by fogline');
    }
  }
  for (const key of ['tier', 'description', 'output_kind'] as const) {
    if (params.strings[key] !== undefined) raw[key] = params.strings[key];
  }
  for (const key of ['labels', 'routing', 'preprocessing'] as const) {
    if (params.json[key] !== undefined) raw[key] = params.json[key];
  }
  if (params.intraOpThreads !== undefined) {
    if (base.backend) {
      fail(
        'parameters.intra_op_thread_count',
        'does not apply to a model served elsewhere (no onnxruntime runs it here)',
      );
    }
    serving.intraOpThreads = params.intraOpThreads;
  }
  if (params.backend !== undefined) {
    const same = base.backend && JSON.stringify(params.backend) === JSON.stringify(backendView(base.backend));
    if (!same) fail('parameters.backend', "cannot be changed by a load (it is config.json's backend)");
  }

  let config = parseModelConfig(raw, where, name);
  if (params.quantization !== undefined) {
    // Validated again: it may name a tensor whose datatype takes none.
    config = parseModelConfig(withQuantization(config, params.quantization, fail), where, name);
  }
  if ('max_batch_size' in o) serving.maxBatchSize = config.max_batch_size;
  if ('dynamic_batching' in o) {
    // Triton refuses a preferred size past max_batch_size; the batcher would drop it unsaid.
    const past = config.dynamic_batching.preferred_batch_size.find((n) => n > config.max_batch_size);
    if (past !== undefined) {
      fail(
        'dynamic_batching.preferred_batch_size',
        `names ${past}, past max_batch_size ${config.max_batch_size}`,
      );
    }
    serving.maxQueueDelayMs = config.dynamic_batching.max_queue_delay_ms;
    serving.maxQueueSize = config.dynamic_batching.max_queue_size;
    serving.preferredBatchSizes = config.dynamic_batching.preferred_batch_size;
  }
  const tensorsOf = (c: ModelConfig) => JSON.stringify([c.inputs, c.outputs]);
  const changesTensors = tensorsOf(config) !== tensorsOf(base);
  if (changesTensors && base.backend) {
    const field = JSON.stringify(config.inputs) !== JSON.stringify(base.inputs) ? 'input' : 'output';
    fail(field, 'comes from the remote model of a model served elsewhere and cannot be changed by a load');
  }
  return { config, serving, changesTensors };
}

type Fail = (field: string, problem: string) => never;

interface ParsedParameters {
  strings: Partial<Record<'tier' | 'description' | 'output_kind', string>>;
  json: Partial<Record<'labels' | 'routing' | 'preprocessing', unknown>>;
  quantization?: QuantizationMap;
  intraOpThreads?: number;
  /** A model served elsewhere: `parameters.backend` as the config view shows it (checked unchanged). */
  backend?: unknown;
}

/** Triton's `parameters: {key: {string_value}}`, with the keys `tritonModelConfig` writes. */
function parametersOf(value: unknown, fail: Fail): ParsedParameters {
  const out: ParsedParameters = { strings: {}, json: {} };
  if (value === undefined) return out;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('parameters', 'must be an object of {"string_value": "..."} entries');
  }
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    const field = `parameters.${key}`;
    const text = (entry as { string_value?: unknown } | null)?.string_value;
    if (typeof text !== 'string') fail(field, 'must be {"string_value": "<text>"}');
    const json = (): unknown => {
      try {
        return JSON.parse(text as string);
      } catch {
        return fail(field, 'string_value must be JSON text');
      }
    };
    switch (key) {
      case 'tier':
      case 'description':
      case 'output_kind':
        out.strings[key] = text as string;
        break;
      case 'labels':
      case 'routing':
      case 'preprocessing':
        out.json[key] = json();
        break;
      case 'quantization': {
        const q = json();
        if (typeof q !== 'object' || q === null || Array.isArray(q)) {
          fail(field, 'must map tensor names to {"scale", "zero_point"}');
        }
        out.quantization = q as QuantizationMap;
        break;
      }
      case 'backend':
        out.backend = json();
        break;
      case 'intra_op_thread_count': {
        const n = Number(text);
        if (!/^\d+$/.test(text as string) || !SERVING_RULES.intraOpThreads.test(n)) {
          fail(field, `must be ${SERVING_RULES.intraOpThreads.must}`);
        }
        out.intraOpThreads = n;
        break;
      }
      default:
        fail(field, 'is not a parameter fogline knows');
    }
  }
  return out;
}

/**
 * `config` with `parameters.quantization` applied: each tensor it names, input or output, takes its
 * `{scale, zero_point}`; a name that is no tensor of the model is refused, never skipped.
 */
function withQuantization(config: ModelConfig, quantization: QuantizationMap, fail: Fail): ModelConfig {
  const tensors = [...config.inputs, ...config.outputs].map((t) => t.name);
  for (const tensor of Object.keys(quantization)) {
    if (!tensors.includes(tensor)) {
      fail('parameters.quantization', `names "${tensor}", which is no input or output of the model`);
    }
  }
  const apply = (t: TensorSpec): TensorSpec => {
    const q = quantization[t.name];
    return q === undefined ? t : { ...t, quantization: q };
  };
  return { ...config, inputs: config.inputs.map(apply), outputs: config.outputs.map(apply) };
}

/**
 * Triton `input`/`output` entries → fogline tensor specs (batch dim put back in front); an integer
 * tensor config.json quantizes keeps its quantization (parameters.quantization is applied after).
 */
function tensorsFromTriton(
  value: unknown,
  field: 'input' | 'output',
  base: readonly TensorSpec[],
  fail: Fail,
): unknown[] {
  if (!Array.isArray(value) || value.length === 0) return fail(field, 'must be a non-empty array');
  return value.map((t, i) => {
    const at = `${field}[${i}]`;
    if (typeof t !== 'object' || t === null || Array.isArray(t)) return fail(at, 'must be an object');
    const o = t as Record<string, unknown>;
    for (const [key, v] of Object.entries(o)) {
      if (key === 'name' || key === 'data_type' || key === 'dims') continue;
      // Fields a Triton config carries at their defaults; anything else would be ignored here.
      const atDefault =
        (key === 'format' && v === 'FORMAT_NONE') ||
        ((key === 'is_shape_tensor' || key === 'allow_ragged_batch' || key === 'optional') && v === false) ||
        (key === 'label_filename' && v === '');
      if (!atDefault) fail(`${at}.${key}`, 'is not supported by fogline');
    }
    const type = o.data_type;
    const datatype = typeof type === 'string' && type.startsWith('TYPE_') ? type.slice(5) : undefined;
    if (datatype === undefined || !(TENSOR_DATATYPES as readonly string[]).includes(datatype)) {
      fail(`${at}.data_type`, `must be one of ${TENSOR_DATATYPES.map((d) => `TYPE_${d}`).join(', ')}`);
    }
    if (!Array.isArray(o.dims)) fail(`${at}.dims`, 'must be an array (without the batch dim)');
    const name = o.name;
    const known = base.find((b) => b.name === name);
    const spec: Record<string, unknown> = {
      name,
      datatype,
      shape: [known?.shape[0] ?? -1, ...(o.dims as unknown[])],
    };
    const q = known?.quantization;
    if (q && (datatype === 'UINT8' || datatype === 'INT8')) spec.quantization = q;
    return spec;
  });
}

const BATCHING_KEYS = new Set([
  'preferred_batch_size',
  'max_queue_delay_microseconds',
  'max_queue_delay_ms',
  'max_queue_size',
  'default_queue_policy',
  'preserve_ordering',
  'priority_levels',
  'default_priority_level',
]);

/** Triton's `dynamic_batching` (microseconds, queue policy) or fogline's → fogline's. */
function dynamicBatchingFromTriton(value: unknown, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('dynamic_batching', 'must be an object');
  }
  const d = value as Record<string, unknown>;
  for (const key of Object.keys(d)) {
    if (!BATCHING_KEYS.has(key)) fail(`dynamic_batching.${key}`, 'is not supported by fogline');
  }
  // Each request is answered on its own HTTP exchange: responses keep their order trivially.
  if (d.preserve_ordering !== undefined && typeof d.preserve_ordering !== 'boolean') {
    fail('dynamic_batching.preserve_ordering', 'must be a boolean');
  }
  for (const key of ['priority_levels', 'default_priority_level']) {
    if (d[key] !== undefined && d[key] !== 0)
      fail(`dynamic_batching.${key}`, 'must be 0 (fogline has no priorities)');
  }
  const out: Record<string, unknown> = {};
  if (d.preferred_batch_size !== undefined) out.preferred_batch_size = d.preferred_batch_size;
  if (d.max_queue_delay_ms !== undefined && d.max_queue_delay_microseconds !== undefined) {
    fail('dynamic_batching', 'names both max_queue_delay_ms and max_queue_delay_microseconds');
  }
  if (d.max_queue_delay_ms !== undefined) out.max_queue_delay_ms = d.max_queue_delay_ms;
  const us = d.max_queue_delay_microseconds;
  if (us !== undefined) {
    if (!Number.isInteger(us) || (us as number) < 0) {
      fail('dynamic_batching.max_queue_delay_microseconds', 'must be an integer >= 0');
    }
    out.max_queue_delay_ms = (us as number) / 1000;
  }
  const policy = d.default_queue_policy;
  if (policy !== undefined) {
    if (typeof policy !== 'object' || policy === null || Array.isArray(policy)) {
      fail('dynamic_batching.default_queue_policy', 'must be an object');
    }
    for (const [key, v] of Object.entries(policy as Record<string, unknown>)) {
      if (key === 'max_queue_size') continue;
      const atDefault =
        (key === 'default_timeout_microseconds' && v === 0) ||
        (key === 'allow_timeout_override' && v === false) ||
        (key === 'timeout_action' && v === 'REJECT');
      if (!atDefault) fail(`dynamic_batching.default_queue_policy.${key}`, 'is not supported by fogline');
    }
    const size = (policy as Record<string, unknown>).max_queue_size;
    if (size !== undefined) {
      // Triton: 0 = unbounded; fogline's queue is always bounded.
      if (size === 0)
        fail(
          'dynamic_batching.default_queue_policy.max_queue_size',
          'must be >= 1 (fogline queues are bounded)',
        );
      out.max_queue_size = size;
    }
  }
  if (d.max_queue_size !== undefined) out.max_queue_size = d.max_queue_size;
  return out;
}

/**
 * One CPU instance group: its count is the model's worker (onnxruntime session) count; for a model
 * served elsewhere (`connections`: its backend's max_connections, what the config view shows) it
 * must stay that.
 */
function workersFromInstanceGroup(value: unknown, fail: Fail, connections?: number): number {
  if (!Array.isArray(value) || value.length !== 1) {
    return fail('instance_group', 'must hold exactly one group (fogline runs one pool of CPU workers)');
  }
  const g = value[0] as Record<string, unknown> | null;
  if (typeof g !== 'object' || g === null) return fail('instance_group[0]', 'must be an object');
  for (const [key, v] of Object.entries(g)) {
    if (key === 'name' || key === 'count') continue;
    if (key === 'kind' && (v === 'KIND_CPU' || v === 'KIND_AUTO')) continue;
    if (key === 'kind') fail('instance_group[0].kind', 'must be KIND_CPU (fogline runs on CPUs)');
    const atDefault =
      ((key === 'gpus' || key === 'secondary_devices' || key === 'profile') &&
        Array.isArray(v) &&
        v.length === 0) ||
      (key === 'passive' && v === false) ||
      (key === 'host_policy' && v === '');
    if (!atDefault) fail(`instance_group[0].${key}`, 'is not supported by fogline');
  }
  const count = g.count ?? 1;
  if (connections !== undefined) {
    if (count !== connections) {
      fail(
        'instance_group[0].count',
        `must be the backend's max_connections (${connections}); change it in config.json`,
      );
    }
    return count;
  }
  if (!SERVING_RULES.workers.test(count))
    fail('instance_group[0].count', `must be ${SERVING_RULES.workers.must}`);
  return count as number;
}

/** fogline serves the newest version of each model only. */
function checkVersionPolicy(value: unknown, fail: Fail): void {
  const latest = (value as { latest?: { num_versions?: unknown } } | null)?.latest;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    latest !== undefined &&
    (latest.num_versions === undefined || latest.num_versions === 1);
  if (!ok)
    fail(
      'version_policy',
      'must be {"latest": {"num_versions": 1}} (fogline serves the newest version only)',
    );
}

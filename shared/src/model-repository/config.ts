import { FoglineError } from '../core/errors.ts';
import {
  DEFAULT_POLICY,
  isTier,
  parseRoutingPolicy,
  type RoutingPolicy,
  TIERS,
  type Tier,
} from '../core/routing/index.ts';

export interface TensorSpec {
  readonly name: string;
  readonly datatype: 'FP32';
  /** Full shape including the batch dim; -1 marks a variable dim. */
  readonly shape: readonly number[];
}

export interface DynamicBatchingConfig {
  readonly max_queue_delay_ms: number;
  readonly max_queue_size: number;
  readonly preferred_batch_size: readonly number[];
}

/** `models/<name>/config.json`, snake_case like Triton's config.pbtxt. */
export interface ModelConfig {
  readonly name: string;
  readonly tier: Tier;
  readonly platform: 'onnxruntime_onnx';
  readonly description: string;
  readonly max_batch_size: number;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly dynamic_batching: DynamicBatchingConfig;
  readonly routing: RoutingPolicy;
  readonly labels: readonly string[];
}

/** Validates a parsed config.json once, at load time; every error names the file and the field. */
export function parseModelConfig(raw: unknown, file: string, dirName: string): ModelConfig {
  const fail = (field: string, problem: string): never => {
    throw new FoglineError('INVALID_ARG', `${file}: field "${field}" ${problem}`, {
      details: { file, field },
    });
  };
  const obj = (v: unknown, field: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : fail(field, 'must be an object');
  const str = (v: unknown, field: string): string =>
    typeof v === 'string' && v.length > 0 ? v : fail(field, 'must be a non-empty string');
  const int = (v: unknown, field: string, min: number): number =>
    Number.isInteger(v) && (v as number) >= min ? (v as number) : fail(field, `must be an integer >= ${min}`);
  const num = (v: unknown, field: string, min: number): number =>
    typeof v === 'number' && Number.isFinite(v) && v >= min ? v : fail(field, `must be a number >= ${min}`);

  const c = obj(raw, '(root)');
  const name = str(c.name, 'name');
  if (name !== dirName) fail('name', `is "${name}" but the model directory is "${dirName}"`);
  const tier = str(c.tier, 'tier');
  if (!isTier(tier)) fail('tier', `must be one of ${TIERS.join(', ')}`);
  if (c.platform !== 'onnxruntime_onnx') fail('platform', 'must be "onnxruntime_onnx"');

  const tensors = (v: unknown, field: string): TensorSpec[] => {
    if (!Array.isArray(v) || v.length === 0) fail(field, 'must be a non-empty array');
    return (v as unknown[]).map((t, i) => {
      const o = obj(t, `${field}[${i}]`);
      if (o.datatype !== 'FP32') fail(`${field}[${i}].datatype`, 'must be "FP32"');
      const shape = o.shape;
      if (
        !Array.isArray(shape) ||
        shape.length === 0 ||
        shape.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1))
      ) {
        fail(`${field}[${i}].shape`, 'must be a non-empty array of positive integers or -1');
      }
      return { name: str(o.name, `${field}[${i}].name`), datatype: 'FP32', shape: shape as number[] };
    });
  };

  const db = obj(c.dynamic_batching ?? {}, 'dynamic_batching');
  const preferred = db.preferred_batch_size ?? [];
  if (!Array.isArray(preferred) || preferred.some((b) => !Number.isInteger(b) || b < 1)) {
    fail('dynamic_batching.preferred_batch_size', 'must be an array of positive integers');
  }
  const routing = parseRoutingPolicy(obj(c.routing ?? DEFAULT_POLICY, 'routing'), (field, problem) =>
    fail(`routing.${field}`, problem),
  );
  const labels = c.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string'))
    fail('labels', 'must be an array of strings');

  return Object.freeze({
    name,
    tier: tier as Tier,
    platform: 'onnxruntime_onnx',
    description: typeof c.description === 'string' ? c.description : '',
    max_batch_size: int(c.max_batch_size, 'max_batch_size', 1),
    inputs: tensors(c.inputs, 'inputs'),
    outputs: tensors(c.outputs, 'outputs'),
    dynamic_batching: Object.freeze({
      max_queue_delay_ms: num(db.max_queue_delay_ms ?? 0, 'dynamic_batching.max_queue_delay_ms', 0),
      max_queue_size: int(db.max_queue_size ?? 1024, 'dynamic_batching.max_queue_size', 1),
      preferred_batch_size: preferred as number[],
    }),
    routing,
    labels: labels as string[],
  });
}

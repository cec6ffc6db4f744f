/**
 * A model's `config.json` (docs/model-repository.md): what its tensors are, how its inputs are
 * prepared, what its outputs mean, how it is batched and routed, and its labels. Pure (no I/O), so
 * the device SDK reads the same config in browsers; the repository loader (`/model-repository`)
 * reads the files and checks them against the ONNX graph.
 */
import { FoglineError } from './errors.ts';
import { type DriftReference, parseDriftReference } from './field/drift-reference.ts';
import { type OipBackend, parseModelBackend } from './model-backend.ts';
import {
  DEFAULT_POLICY,
  isTier,
  parseRoutingPolicy,
  type RoutingPolicy,
  TIERS,
  type Tier,
} from './routing/index.ts';

/** Tensor element types a model's inputs and outputs may have. */
export const TENSOR_DATATYPES = ['FP32', 'FP16', 'UINT8', 'INT8'] as const;
export type TensorDatatype = (typeof TENSOR_DATATYPES)[number];

/** real = scale × (q − zero_point): how an integer tensor maps to real values. */
export interface TensorQuantization {
  readonly scale: number;
  readonly zero_point: number;
}

export interface TensorSpec {
  readonly name: string;
  readonly datatype: TensorDatatype;
  /** Full shape including the batch dim; -1 marks a variable dim. */
  readonly shape: readonly number[];
  /** For UINT8/INT8 tensors: how to quantize inputs and dequantize outputs. Absent: values as they are. */
  readonly quantization?: TensorQuantization;
}

/** What the first output holds per class: raw logits (softmax applied before scoring) or probabilities. */
export const OUTPUT_KINDS = ['logits', 'probabilities'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export const LAYOUTS = ['NCHW', 'NHWC'] as const;
export type Layout = (typeof LAYOUTS)[number];
export const CHANNEL_ORDERS = ['GRAY', 'RGB', 'BGR'] as const;
export type ChannelOrder = (typeof CHANNEL_ORDERS)[number];

/**
 * How a raw image becomes the model's input (applied on the device, and by the dataset reader):
 * resize to the input's H×W, order the channels, x = (pixel × scale − mean[c]) / std[c], lay out.
 * Upper tiers receive the prepared tensor and do no preprocessing of their own.
 */
export interface Preprocessing {
  readonly layout: Layout;
  readonly channel_order: ChannelOrder;
  /** Multiplies each 0–255 pixel first; default 1/255. */
  readonly scale: number;
  /** Per channel (or one for all), subtracted after scaling; default 0. */
  readonly mean: readonly number[];
  /** Per channel (or one for all), divides after the mean; default 1. */
  readonly std: readonly number[];
}

export interface DynamicBatchingConfig {
  readonly max_queue_delay_ms: number;
  readonly max_queue_size: number;
  readonly preferred_batch_size: readonly number[];
}

/** Triton's `response_cache`: whether this model's answers may be served from the server's cache. */
export interface ResponseCacheConfig {
  readonly enable: boolean;
}

/** `models/<name>/config.json`, snake_case like Triton's config.pbtxt. */
export interface ModelConfig {
  readonly name: string;
  readonly tier: Tier;
  /** `onnxruntime_onnx` for a model file of its own; a `backend` model's is its remote's platform. */
  readonly platform: string;
  readonly description: string;
  readonly max_batch_size: number;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly output_kind: OutputKind;
  readonly preprocessing: Preprocessing;
  readonly dynamic_batching: DynamicBatchingConfig;
  readonly routing: RoutingPolicy;
  /** Class names by index; empty when the config names none. */
  readonly labels: readonly string[];
  /** The device's calibration score histogram drift is measured against; absent until calibrated. */
  readonly drift?: DriftReference;
  /**
   * Absent or `{enable: false}`: never answered from the response cache. `{enable: true}`: answered
   * from it when the server has one (`fogline cloud --response-cache-mb`); docs/cloud.md.
   */
  readonly response_cache?: ResponseCacheConfig;
  /**
   * Present: the model has no model file here; the cloud forwards its inference to this server and
   * its tensors come from the server's metadata (model-backend.ts, docs/model-repository.md).
   */
  readonly backend?: OipBackend;
}

/** Channels of an image input per layout: [N, C, H, W] or [N, H, W, C]; undefined when not rank 4. */
export function imageDims(spec: TensorSpec, layout: Layout): { c: number; h: number; w: number } | undefined {
  if (spec.shape.length !== 4) return undefined;
  const [, a, b, c] = spec.shape as [number, number, number, number];
  return layout === 'NCHW' ? { c: a, h: b, w: c } : { c, h: a, w: b };
}

/** INVALID_ARG `<file>: field "<field>" <problem>`: how every config.json error reads. */
export function configFieldFail(file: string): (field: string, problem: string) => never {
  return (field, problem) => {
    throw new FoglineError('INVALID_ARG', `${file}: field "${field}" ${problem}`, {
      details: { file, field },
    });
  };
}

/** Validates a parsed config.json once, at load time; every error names the file and the field. */
export function parseModelConfig(raw: unknown, file: string, dirName: string): ModelConfig {
  const fail = configFieldFail(file);
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
  const oneOf = <T extends string>(v: unknown, field: string, allowed: readonly T[], fallback: T): T =>
    v === undefined
      ? fallback
      : allowed.includes(v as T)
        ? (v as T)
        : fail(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}`);

  const c = obj(raw, '(root)');
  const name = str(c.name, 'name');
  if (name !== dirName) fail('name', `is "${name}" but the model directory is "${dirName}"`);
  const tier = str(c.tier, 'tier');
  if (!isTier(tier)) fail('tier', `must be one of ${TIERS.join(', ')}`);
  const backend = c.backend === undefined ? undefined : parseModelBackend(c.backend, fail);
  // A backend model's platform is its remote's (model metadata), whatever that serves.
  if (backend ? typeof c.platform !== 'string' || c.platform === '' : c.platform !== 'onnxruntime_onnx') {
    fail('platform', backend ? 'must be a non-empty string' : 'must be "onnxruntime_onnx"');
  }

  const tensors = (v: unknown, field: string): TensorSpec[] => {
    if (!Array.isArray(v) || v.length === 0) fail(field, 'must be a non-empty array');
    return (v as unknown[]).map((t, i) => {
      const at = `${field}[${i}]`;
      const o = obj(t, at);
      if (o.datatype === undefined) fail(`${at}.datatype`, `must be one of ${TENSOR_DATATYPES.join(', ')}`);
      const datatype = oneOf(o.datatype, `${at}.datatype`, TENSOR_DATATYPES, 'FP32');
      const shape = o.shape;
      if (
        !Array.isArray(shape) ||
        shape.length === 0 ||
        shape.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1))
      ) {
        fail(`${at}.shape`, 'must be a non-empty array of positive integers or -1');
      }
      const spec: TensorSpec = { name: str(o.name, `${at}.name`), datatype, shape: shape as number[] };
      if (o.quantization === undefined) return spec;
      if (datatype !== 'UINT8' && datatype !== 'INT8')
        fail(`${at}.quantization`, 'applies to UINT8 and INT8 only');
      const q = obj(o.quantization, `${at}.quantization`);
      const scale = num(q.scale, `${at}.quantization.scale`, Number.MIN_VALUE);
      const zero = q.zero_point ?? 0;
      const [lo, hi] = datatype === 'UINT8' ? [0, 255] : [-128, 127];
      if (!Number.isInteger(zero) || (zero as number) < lo || (zero as number) > hi) {
        fail(`${at}.quantization.zero_point`, `must be an integer in [${lo}, ${hi}]`);
      }
      return { ...spec, quantization: Object.freeze({ scale, zero_point: zero as number }) };
    });
  };
  const inputs = tensors(c.inputs, 'inputs');
  const outputs = tensors(c.outputs, 'outputs');

  const db = obj(c.dynamic_batching ?? {}, 'dynamic_batching');
  const preferred = db.preferred_batch_size ?? [];
  if (!Array.isArray(preferred) || preferred.some((b) => !Number.isInteger(b) || b < 1)) {
    fail('dynamic_batching.preferred_batch_size', 'must be an array of positive integers');
  }
  const routing = parseRoutingPolicy(obj(c.routing ?? DEFAULT_POLICY, 'routing'), (field, problem) =>
    fail(`routing.${field}`, problem),
  );

  const labels = c.labels ?? [];
  if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || l.length === 0))
    fail('labels', 'must be an array of non-empty strings');
  const labelList = labels as string[];
  const duplicate = labelList.find((l, i) => labelList.indexOf(l) !== i);
  if (duplicate !== undefined) fail('labels', `names "${duplicate}" twice`);
  const classes = outputs[0]!.shape.at(-1)!;
  if (labelList.length > 0 && classes !== -1 && labelList.length !== classes) {
    fail('labels', `has ${labelList.length} names but outputs[0] has ${classes} classes`);
  }

  const drift =
    c.drift === undefined
      ? undefined
      : parseDriftReference(c.drift, (field, problem) =>
          fail(field === '' ? 'drift' : `drift.${field}`, problem),
        );
  const responseCache = parseResponseCache(c.response_cache, { fail, obj });

  return Object.freeze({
    name,
    tier: tier as Tier,
    platform: c.platform as string,
    description: typeof c.description === 'string' ? c.description : '',
    max_batch_size: int(c.max_batch_size, 'max_batch_size', 1),
    inputs,
    outputs,
    output_kind: oneOf(c.output_kind, 'output_kind', OUTPUT_KINDS, 'logits'),
    preprocessing: parsePreprocessing(c.preprocessing, inputs[0]!, { fail, obj, num, oneOf }),
    dynamic_batching: Object.freeze({
      max_queue_delay_ms: num(db.max_queue_delay_ms ?? 0, 'dynamic_batching.max_queue_delay_ms', 0),
      max_queue_size: int(db.max_queue_size ?? 1024, 'dynamic_batching.max_queue_size', 1),
      preferred_batch_size: preferred as number[],
    }),
    routing,
    labels: labelList,
    ...(drift ? { drift } : {}),
    ...(responseCache && { response_cache: responseCache }),
    ...(backend && { backend }),
  });
}

/**
 * `response_cache: {"enable": boolean}` (Triton's field). Only an enabled cache is kept: absent and
 * `{"enable": false}` parse alike (absent), so a config reads the same however it says "off".
 */
function parseResponseCache(
  raw: unknown,
  check: Pick<FieldCheckers, 'fail' | 'obj'>,
): ResponseCacheConfig | undefined {
  if (raw === undefined) return undefined;
  const o = check.obj(raw, 'response_cache');
  for (const key of Object.keys(o)) {
    if (key !== 'enable') check.fail(`response_cache.${key}`, 'is not a field (only "enable")');
  }
  if (typeof o.enable !== 'boolean') check.fail('response_cache.enable', 'must be true or false');
  return o.enable === true ? Object.freeze({ enable: true }) : undefined;
}

interface FieldCheckers {
  fail(field: string, problem: string): never;
  obj(v: unknown, field: string): Record<string, unknown>;
  num(v: unknown, field: string, min: number): number;
  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[], fallback: T): T;
}

/** Defaults: NCHW, GRAY for one channel else RGB, scale 1/255, mean 0, std 1. */
function parsePreprocessing(raw: unknown, input: TensorSpec, check: FieldCheckers): Preprocessing {
  const p = check.obj(raw ?? {}, 'preprocessing');
  const layout = check.oneOf(p.layout, 'preprocessing.layout', LAYOUTS, 'NCHW');
  const channels = imageDims(input, layout)?.c;
  const channelOrder = check.oneOf(
    p.channel_order,
    'preprocessing.channel_order',
    CHANNEL_ORDERS,
    channels === 3 ? 'RGB' : 'GRAY',
  );
  const wanted = channelOrder === 'GRAY' ? 1 : 3;
  if (raw !== undefined && channels !== undefined && channels !== wanted) {
    check.fail(
      'preprocessing.channel_order',
      `is ${channelOrder} (${wanted} channel${wanted > 1 ? 's' : ''}) but inputs[0] has ${channels} in layout ${layout}`,
    );
  }
  const perChannel = (v: unknown, field: string, fallback: number, min: number): number[] => {
    if (v === undefined) return [fallback];
    const list = typeof v === 'number' ? [v] : v;
    if (!Array.isArray(list) || (list.length !== 1 && list.length !== wanted)) {
      check.fail(field, `must be a number or an array of 1 or ${wanted} numbers`);
    }
    return (list as unknown[]).map((x, i) => check.num(x, `${field}[${i}]`, min));
  };
  const std = perChannel(p.std, 'preprocessing.std', 1, 0);
  if (std.some((s) => s === 0)) check.fail('preprocessing.std', 'must not contain 0');
  return Object.freeze({
    layout,
    channel_order: channelOrder,
    scale: p.scale === undefined ? 1 / 255 : check.num(p.scale, 'preprocessing.scale', Number.MIN_VALUE),
    mean: perChannel(p.mean, 'preprocessing.mean', 0, Number.NEGATIVE_INFINITY),
    std,
  });
}

/**
 * Device → edge inference requests on the infer topic (the edge agent's broker, or the cloud broker's
 * `edge/cloud/infer` for devices with no edge) (docs/design.md "Protocols"), encoder beside reader:
 * the framed OIP body of the shared codec, with fogline's `parameters.reply_to` and `deadline_ms`.
 * Reading: anything malformed throws a RequestRejection that still carries the reply topic and
 * correlation id when they could be read, so the device gets an explicit error instead of silence.
 */
import { decodeInferMessage, encodeInferMessage } from '../codec/index.ts';
import { FoglineError, fromUnknown } from '../errors.ts';
import type { TensorQuantization } from '../model-config.ts';
import type { Parameters, Tensor } from '../oip.ts';
import { parseTraceparent, type Traceparent } from '../traceparent.ts';
import type { FabricRequestParameters } from './parameters.ts';
import { isValidId, topics } from './topics.ts';

/** What a device puts in a request. */
export interface FabricRequestFields {
  id: string;
  replyTo: string;
  deadlineMs: number;
  deviceScore: number;
  /**
   * The device's one input, as its model consumes it (after preprocessing): its name, datatype and
   * shape are the device model config's (docs/model-repository.md); upper tiers take it by position.
   */
  input: Tensor;
  /** The device model input's `quantization`, when it has one (`parameters.input_scale`, `input_zero_point`). */
  inputQuantization?: TensorQuantization;
  /** W3C traceparent header value, when the device is part of a trace. */
  traceparent?: string;
}

export function encodeFabricRequest(fields: FabricRequestFields): Uint8Array {
  const parameters: FabricRequestParameters = {
    reply_to: fields.replyTo,
    deadline_ms: Math.max(0, Math.floor(fields.deadlineMs)),
    device_score: fields.deviceScore,
  };
  if (fields.inputQuantization !== undefined) {
    parameters.input_scale = fields.inputQuantization.scale;
    parameters.input_zero_point = fields.inputQuantization.zero_point;
  }
  if (fields.traceparent !== undefined) parameters.traceparent = fields.traceparent;
  // OIP: infer request header; the input travels as a binary tensor.
  return encodeInferMessage({ id: fields.id, parameters: parameters as unknown as Parameters }, [
    fields.input,
  ]);
}

export interface FabricRequest {
  /** Correlation id (OIP request `id`), echoed in the reply. */
  readonly id: string | undefined;
  readonly replyTo: string;
  readonly deviceId: string;
  /** Budget (ms) the device gave this request when it published it. */
  readonly deadlineMs: number;
  readonly tensors: readonly Tensor[];
  /** `parameters.input_scale` / `input_zero_point`: how tensors[0]'s integers map to real values. */
  readonly inputQuantization?: TensorQuantization;
  /** `parameters.traceparent`: the device's W3C trace context, when it sent one. */
  readonly traceparent?: Traceparent;
}

export interface FabricRequestLimits {
  /** Budget assumed when a request has no `deadline_ms`. */
  readonly defaultDeadlineMs: number;
  /** Largest budget accepted; larger values are clamped to it. */
  readonly maxDeadlineMs: number;
}

/** A request that cannot be served; `replyTo`/`id` are set when they could be read from it. */
export class RequestRejection extends Error {
  constructor(
    readonly error: FoglineError,
    readonly replyTo: string | undefined,
    readonly id: string | undefined,
  ) {
    super(error.message);
    this.name = 'RequestRejection';
  }

  /** `err` as a rejection: anything `readFabricRequest` threw that is not one carries no address. */
  static of(err: unknown): RequestRejection {
    return err instanceof RequestRejection
      ? err
      : new RequestRejection(fromUnknown(err), undefined, undefined);
  }

  /** Nothing readable (no reply topic, no correlation id): nobody could use an answer. */
  get unaddressed(): boolean {
    return this.replyTo === undefined && this.id === undefined;
  }
}

// Bounds for untrusted payloads: one small image per request, never gigabytes.
const CODEC_LIMITS = Object.freeze({ maxElements: 1 << 20, maxRank: 8, maxTensors: 8 });
const REPLY_TOPIC = /^fogline\/v1\/device\/([^/]+)\/reply$/;

export function readFabricRequest(payload: Uint8Array, limits: FabricRequestLimits): FabricRequest {
  let decoded: ReturnType<typeof decodeInferMessage>;
  try {
    decoded = decodeInferMessage(payload, CODEC_LIMITS);
  } catch (err) {
    const salvaged = salvageAddress(payload);
    throw new RequestRejection(fromUnknown(err), salvaged.replyTo, salvaged.id);
  }
  const header = decoded.header;
  const id = typeof header.id === 'string' ? header.id : undefined;
  const topic = header.parameters?.reply_to;
  const deviceId = deviceOfReplyTopic(topic);
  const replyTo = deviceId === undefined ? undefined : (topic as string);
  if (decoded.kind !== 'request') {
    throw new RequestRejection(
      new FoglineError('INVALID_ARG', 'infer topic carries requests only'),
      replyTo,
      id,
    );
  }
  if (replyTo === undefined || deviceId === undefined) {
    const err = new FoglineError(
      'INVALID_ARG',
      'request has no valid parameters.reply_to (fogline/v1/device/{id}/reply)',
    );
    throw new RequestRejection(err, undefined, id);
  }
  const deadline = header.parameters?.deadline_ms;
  let deadlineMs = limits.defaultDeadlineMs;
  if (deadline !== undefined) {
    if (typeof deadline !== 'number' || !Number.isFinite(deadline)) {
      throw new RequestRejection(
        new FoglineError('INVALID_ARG', 'parameters.deadline_ms must be a number of ms'),
        replyTo,
        id,
      );
    }
    if (deadline <= 0) {
      throw new RequestRejection(
        new FoglineError('DEADLINE_EXCEEDED', 'request arrived with no budget left'),
        replyTo,
        id,
      );
    }
    deadlineMs = Math.min(deadline, limits.maxDeadlineMs);
  }
  // Built once, fields added in place: a request lives as long as it is in flight.
  const request: Mutable<FabricRequest> = { id, replyTo, deviceId, deadlineMs, tensors: decoded.tensors };
  const trace = header.parameters?.traceparent;
  if (trace !== undefined) request.traceparent = traceOf(trace, replyTo, id);
  const scale = header.parameters?.input_scale;
  const zero = header.parameters?.input_zero_point;
  if (scale === undefined && zero === undefined) return request;
  try {
    request.inputQuantization = readQuantization(scale, zero);
    return request;
  } catch (err) {
    throw new RequestRejection(fromUnknown(err), replyTo, id);
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `parameters.traceparent`: strictly valid (traceparent.ts) or the request is refused. */
function traceOf(value: unknown, replyTo: string, id: string | undefined): Traceparent {
  const traceparent = parseTraceparent(value);
  if (traceparent !== undefined) return traceparent;
  const err = new FoglineError(
    'INVALID_ARG',
    'parameters.traceparent must be a W3C traceparent (00-<trace id>-<parent id>-<flags>)',
  );
  throw new RequestRejection(err, replyTo, id);
}

/** `parameters.input_scale` / `input_zero_point`, checked: a scale > 0 and an integer zero point. */
function readQuantization(scale: unknown, zero: unknown = 0): TensorQuantization {
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
    throw new FoglineError('INVALID_ARG', 'parameters.input_scale must be a number > 0');
  }
  if (!Number.isInteger(zero) || (zero as number) < -128 || (zero as number) > 255) {
    throw new FoglineError('INVALID_ARG', 'parameters.input_zero_point must be an integer in [-128, 255]');
  }
  return Object.freeze({ scale, zero_point: zero as number });
}

/** The device id of `value` when it is exactly a device's reply topic with a valid id, else undefined. */
function deviceOfReplyTopic(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = REPLY_TOPIC.exec(value);
  return match && isValidId(match[1]) && topics.reply(match[1]) === value ? match[1] : undefined;
}

/** The reply topic, only when it is exactly a device's reply topic with a valid id. */
function replyTopicOf(value: unknown): string | undefined {
  return deviceOfReplyTopic(value) === undefined ? undefined : (value as string);
}

/**
 * Best effort on a payload the codec refused: if its JSON header still parses, take `reply_to` and
 * `id` from it (e.g. the tensors were truncated, or a shape was wrong).
 */
function salvageAddress(payload: Uint8Array): { replyTo?: string; id?: string } {
  try {
    if (payload.length < 4) return {};
    const length = new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0, true);
    const end = Math.min(payload.length, 4 + length);
    const header = JSON.parse(new TextDecoder().decode(payload.subarray(4, end))) as {
      id?: unknown;
      parameters?: { reply_to?: unknown };
    };
    const replyTo = replyTopicOf(header?.parameters?.reply_to);
    const id = typeof header?.id === 'string' ? header.id : undefined;
    return { ...(replyTo && { replyTo }), ...(id !== undefined && { id }) };
  } catch {
    return {};
  }
}

/**
 * Edge → device replies (docs/design.md "One inference, end to end"; also cloud → device when the
 * cloud plays the edge of a device that has none), encoder beside reader: an OIP inference response
 * framed like every fogline MQTT payload, whose `parameters` say which tier answered, how sure it was,
 * how long each tier took, whether the answer is degraded, and which model versions were involved.
 * Errors use the shared error frame (error-reply.ts).
 */
import {
  DEFAULT_CODEC_LIMITS,
  decodeInferMessage,
  elementCount,
  encodeInferMessage,
  errorFromReply,
  findTensor,
  frameInferMessage,
} from '../codec/index.ts';
import { binaryByteLength, checkTensorData } from '../codec/tensor-bytes.ts';
import { type ErrorCode, FoglineError, fromUnknown, isErrorCode } from '../errors.ts';
import type { OutputKind } from '../model-config.ts';
import { BINARY_DATA_SIZE, type Parameters, type Tensor } from '../oip.ts';
import { isTier, type Tier } from '../routing/index.ts';
import type { FabricReplyParameters } from './parameters.ts';

/**
 * The name of a reply's one output, whatever the answering model calls its own (wire.md): the tensor
 * today's devices look for. Readers take it, else a reply's first output.
 */
export const REPLY_OUTPUT_NAME = 'logits';

export interface AnswerReply {
  readonly id: string | undefined;
  /** The model whose outputs these are. */
  readonly modelName: string;
  readonly modelVersion: string;
  readonly outputs: readonly Tensor[];
  readonly parameters: FabricReplyParameters;
}

/**
 * The framed reply: the bytes encodeInferMessage gives for the header `{model_name, model_version,
 * id?, parameters: {tier, degraded, score, model_versions, output_kind?, fallback_code?,
 * fallback_message?, edge_ms?, cloud_ms?}}` (ms rounded to µs) with the outputs as binary tensors
 * (encodeAnswerGeneric, the reference: reply.test.ts holds them equal). Every answer goes through
 * here, so the header's JSON is written directly instead of as objects for JSON.stringify (about
 * half the encoding's CPU). Outputs with parameters of their own take the reference path.
 */
export function encodeAnswer(reply: AnswerReply): Uint8Array {
  const { outputs } = reply;
  let described = '';
  let binaryLength = 0;
  for (let i = 0; i < outputs.length; i++) {
    const tensor = outputs[i]!;
    if (tensor.parameters !== undefined) return encodeAnswerGeneric(reply);
    // The checks encodeFrame makes of every tensor it describes.
    const where = `output "${tensor.name}"`;
    for (let j = 0; j < i; j++) {
      if (outputs[j]!.name === tensor.name) tensorNamesError(where);
    }
    if (tensor.name === '') tensorNamesError(where);
    checkTensorData(tensor, elementCount(tensor.shape, where, DEFAULT_CODEC_LIMITS), where);
    const size = binaryByteLength(tensor);
    binaryLength += size;
    described += `${i === 0 ? '' : ','}{"name":${JSON.stringify(tensor.name)},"shape":[${tensor.shape.join(',')}],"datatype":"${tensor.datatype}","parameters":{"${BINARY_DATA_SIZE}":${size}}}`;
  }
  const p = reply.parameters;
  let json = `{"model_name":${JSON.stringify(reply.modelName)},"model_version":${JSON.stringify(reply.modelVersion)}`;
  if (reply.id !== undefined) json += `,"id":${JSON.stringify(reply.id)}`;
  json += `,"parameters":{"tier":${JSON.stringify(p.tier)},"degraded":${p.degraded},"score":${jsonNumber(p.score)},"model_versions":${JSON.stringify(p.model_versions)}`;
  if (p.output_kind !== undefined) json += `,"output_kind":${JSON.stringify(p.output_kind)}`;
  if (p.fallback_code !== undefined) json += `,"fallback_code":${JSON.stringify(p.fallback_code)}`;
  if (p.fallback_message !== undefined) json += `,"fallback_message":${JSON.stringify(p.fallback_message)}`;
  if (p.edge_ms !== undefined) json += `,"edge_ms":${jsonNumber(round(p.edge_ms))}`;
  if (p.cloud_ms !== undefined) json += `,"cloud_ms":${jsonNumber(round(p.cloud_ms))}`;
  return frameInferMessage(`${json}},"outputs":[${described}]}`, outputs, binaryLength);
}

/** A number as JSON.stringify writes it (NaN and ±Infinity as null). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

function tensorNamesError(where: string): never {
  throw new FoglineError('INVALID_ARG', `${where}: tensor names must be non-empty and unique`);
}

/** The reply as encodeInferMessage encodes its header object: the reference encodeAnswer keeps to. */
export function encodeAnswerGeneric(reply: AnswerReply): Uint8Array {
  const parameters: Parameters = {
    tier: reply.parameters.tier,
    degraded: reply.parameters.degraded,
    score: reply.parameters.score,
    model_versions: reply.parameters.model_versions,
  };
  if (reply.parameters.output_kind !== undefined) parameters.output_kind = reply.parameters.output_kind;
  if (reply.parameters.fallback_code !== undefined) parameters.fallback_code = reply.parameters.fallback_code;
  if (reply.parameters.fallback_message !== undefined)
    parameters.fallback_message = reply.parameters.fallback_message;
  if (reply.parameters.edge_ms !== undefined) parameters.edge_ms = round(reply.parameters.edge_ms);
  if (reply.parameters.cloud_ms !== undefined) parameters.cloud_ms = round(reply.parameters.cloud_ms);
  // OIP: infer response header; the outputs travel as binary tensors.
  return encodeInferMessage(
    {
      model_name: reply.modelName,
      model_version: reply.modelVersion,
      ...(reply.id !== undefined && { id: reply.id }),
      parameters,
    },
    reply.outputs,
  );
}

/** The class scores of one input (real values: dequantized) as the `[1, K]` FP32 output tensor of a reply. */
export function logitsOutput(name: string, logits: Float32Array): Tensor {
  return { name, datatype: 'FP32', shape: [1, logits.length], data: logits };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** What a reply says, as its device reads it, or the error it carries (an error reply, or a malformed reply). */
export type FabricReply =
  | {
      ok: true;
      id: string;
      /** The answering model's class scores (its first output, FP32 real values). */
      logits: Float32Array;
      /** What `logits` holds (parameters.output_kind; 'logits' when the edge does not say). */
      outputKind: OutputKind;
      tier: Tier;
      degraded: boolean;
      score: number;
      edgeMs?: number;
      cloudMs?: number;
      modelVersions?: string;
      /** On a degraded answer: why the upper tier's answer is missing (parameters.fallback_code). */
      fallbackCode?: ErrorCode;
      fallbackMessage?: string;
    }
  | {
      ok: false;
      id: string;
      code: ErrorCode;
      message: string;
      /** On RATE_LIMITED from the broker: when a re-send would be accepted (parameters.retry_after_ms). */
      retryAfterMs?: number;
    };

/**
 * Reads a reply, validated field by field because it comes from the network; undefined when not
 * even the correlation id can be read (nothing to answer).
 */
export function readFabricReply(payload: Uint8Array): FabricReply | undefined {
  let decoded: ReturnType<typeof decodeInferMessage>;
  try {
    decoded = decodeInferMessage(payload);
  } catch {
    return undefined;
  }
  const id = decoded.header.id;
  if (typeof id !== 'string') return undefined;
  if (decoded.kind === 'error') {
    const error = errorFromReply(decoded.header);
    const retryAfterMs = error.details?.retryAfterMs;
    return {
      ok: false,
      id,
      code: error.code,
      message: error.message,
      ...(typeof retryAfterMs === 'number' && { retryAfterMs }),
    };
  }
  if (decoded.kind !== 'response') {
    return { ok: false, id, code: 'INVALID_ARG', message: 'edge sent a request where a reply was expected' };
  }
  try {
    const p = decoded.header.parameters ?? {};
    const tier = p.tier;
    if (!isTier(tier))
      throw new FoglineError('INVALID_ARG', `reply tier must be device|edge|cloud, got ${p.tier}`);
    const score = typeof p.score === 'number' ? p.score : Number.NaN;
    // Decoded tensors may be views into the MQTT buffer: copy.
    const named = decoded.tensors.find((t) => t.name === REPLY_OUTPUT_NAME) ?? decoded.tensors[0];
    if (named === undefined) throw new FoglineError('INVALID_ARG', 'reply has no output tensor');
    const logits = Float32Array.from(findTensor(decoded.tensors, named.name, 'FP32').data);
    if (logits.length === 0) throw new FoglineError('INVALID_ARG', 'reply logits are empty');
    const outputKind = p.output_kind === 'probabilities' ? 'probabilities' : 'logits';
    const reply: FabricReply = {
      ok: true,
      id,
      logits,
      outputKind,
      tier,
      degraded: p.degraded === true,
      score,
    };
    const edgeMs = optionalMs(p.edge_ms);
    const cloudMs = optionalMs(p.cloud_ms);
    if (edgeMs !== undefined) reply.edgeMs = edgeMs;
    if (cloudMs !== undefined) reply.cloudMs = cloudMs;
    if (typeof p.model_versions === 'string') reply.modelVersions = p.model_versions;
    if (isErrorCode(p.fallback_code)) reply.fallbackCode = p.fallback_code;
    if (typeof p.fallback_message === 'string') reply.fallbackMessage = p.fallback_message;
    return reply;
  } catch (err) {
    const error = fromUnknown(err);
    return { ok: false, id, code: error.code, message: `malformed reply from the edge: ${error.message}` };
  }
}

function optionalMs(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

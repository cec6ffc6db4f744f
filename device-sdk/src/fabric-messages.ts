/**
 * The device side of the MQTT inference messages (shared/src/fabric-protocol.ts): encoding a request
 * and reading an edge reply, validated field by field because the reply comes from the network.
 */
import { decodeInferMessage, encodeInferMessage, errorFromReply, findTensor } from '@fogline/shared/codec';
import { isTier, type Tier } from '@fogline/shared/core/routing/index';
import { type ErrorCode, FoglineError, fromUnknown } from '@fogline/shared/errors';
import type { FabricRequestParameters } from '@fogline/shared/fabric-protocol';
import type { Parameters } from '@fogline/shared/oip';

export const INPUT_NAME = 'image';
export const OUTPUT_NAME = 'logits';

export interface RequestFields {
  id: string;
  replyTo: string;
  deadlineMs: number;
  deviceScore: number;
  input: Float32Array;
  inputShape: readonly number[];
}

export function encodeRequest(fields: RequestFields): Uint8Array {
  const parameters: FabricRequestParameters = {
    reply_to: fields.replyTo,
    deadline_ms: Math.max(0, Math.floor(fields.deadlineMs)),
    device_score: fields.deviceScore,
  };
  return encodeInferMessage({ id: fields.id, parameters: parameters as unknown as Parameters }, [
    { name: INPUT_NAME, datatype: 'FP32', shape: fields.inputShape, data: fields.input },
  ]);
}

/** What an edge reply says, or the error it carries (an error reply, or a malformed reply). */
export type EdgeReply =
  | {
      ok: true;
      id: string;
      logits: Float32Array;
      tier: Tier;
      degraded: boolean;
      score: number;
      edgeMs?: number;
      cloudMs?: number;
      modelVersions?: string;
    }
  | { ok: false; id: string; code: ErrorCode; message: string };

function optionalMs(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Reads a reply; undefined when not even the correlation id can be read (nothing to answer). */
export function readReply(payload: Uint8Array): EdgeReply | undefined {
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
    return { ok: false, id, code: error.code, message: error.message };
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
    const logits = Float32Array.from(findTensor(decoded.tensors, OUTPUT_NAME, 'FP32').data);
    if (logits.length === 0) throw new FoglineError('INVALID_ARG', 'reply logits are empty');
    const reply: EdgeReply = { ok: true, id, logits, tier, degraded: p.degraded === true, score };
    const edgeMs = optionalMs(p.edge_ms);
    const cloudMs = optionalMs(p.cloud_ms);
    if (edgeMs !== undefined) reply.edgeMs = edgeMs;
    if (cloudMs !== undefined) reply.cloudMs = cloudMs;
    if (typeof p.model_versions === 'string') reply.modelVersions = p.model_versions;
    return reply;
  } catch (err) {
    const error = fromUnknown(err);
    return { ok: false, id, code: error.code, message: `malformed reply from the edge: ${error.message}` };
  }
}

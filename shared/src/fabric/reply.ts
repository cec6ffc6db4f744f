/**
 * Edge → device replies (DESIGN.md "One inference, end to end"; also cloud → device when the cloud
 * plays the edge of a device that has none): an OIP inference response framed
 * like every fogline MQTT payload, whose `parameters` say which tier answered, how sure it was, how
 * long each tier took, whether the answer is degraded, and which model versions were involved.
 * Errors use the shared error frame (`{"id", "error", "parameters": {"error_code"}}`).
 */
import { encodeErrorMessage, encodeInferMessage } from '../codec.ts';
import type { FabricReplyParameters } from '../fabric-protocol.ts';
import type { Parameters, Tensor } from '../oip.ts';

export interface AnswerReply {
  readonly id: string | undefined;
  /** The model whose outputs these are. */
  readonly modelName: string;
  readonly modelVersion: string;
  readonly outputs: readonly Tensor[];
  readonly parameters: FabricReplyParameters;
}

export function encodeAnswer(reply: AnswerReply): Uint8Array {
  const parameters: Parameters = {
    tier: reply.parameters.tier,
    degraded: reply.parameters.degraded,
    score: reply.parameters.score,
    model_versions: reply.parameters.model_versions,
  };
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

export function encodeErrorReply(err: unknown, id: string | undefined): Uint8Array {
  return encodeErrorMessage(err, id);
}

/** Logits of one input as the `[1, K]` output tensor of a reply. */
export function logitsOutput(name: string, logits: Float32Array): Tensor {
  return { name, datatype: 'FP32', shape: [1, logits.length], data: logits };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

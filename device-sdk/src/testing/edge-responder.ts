/**
 * Test helper (imported by *.test.ts only): a hand-written stand-in for the edge agent. It subscribes
 * to an edge's infer topic and answers with the shared codec, or stays silent, or sends error replies.
 * It keeps what each request carried (the input tensor and the parameters), so tests can check
 * what a device sends.
 */

import type { ErrorCode, OutputKind, Parameters, Tensor, TensorQuantization } from '@fogline/shared';
import {
  decodeInferMessage,
  encodeErrorMessage,
  encodeInferMessage,
  type FabricReplyParameters,
  type FabricRequest,
  FoglineError,
  readFabricRequest,
  topics,
} from '@fogline/shared';
import mqtt, { type MqttClient } from 'mqtt';

export type ResponderMode = 'answer' | 'silent' | 'error';

export interface ReceivedRequest {
  id: string;
  deadlineMs: number;
  replyTo: string;
  /** The request's first tensor (a copy): the device model's input as it consumes it. */
  input: Tensor | undefined;
  /** How the input's integers map to real values, as the edge reads it (`readFabricRequest`). */
  inputQuantization: TensorQuantization | undefined;
  /** The request's raw `parameters` (reply_to, deadline_ms, device_score, input_scale, ...). */
  parameters: Parameters;
}

/** Budgets as the edge agent bounds them; wide, so `deadlineMs` is what the device sent. */
const LIMITS = { defaultDeadlineMs: 1_000, maxDeadlineMs: 600_000 };

export interface EdgeResponder {
  mode: ResponderMode;
  /** Label the edge "predicts": the top class of its answer. */
  label: number;
  /** Classes in the answer (default 10, digits). */
  classes: number;
  /** What the answer holds: one-hot-ish logits (±5), or probabilities (0.9 on `label`). Default logits. */
  outputKind: OutputKind;
  /** Answer without `parameters.output_kind`, as edges before F6 do. Default false. */
  legacyReply: boolean;
  /** Answer degraded, saying why the cloud was not used (`fallback_code`/`fallback_message`). */
  degradedBy: { code: ErrorCode; message: string } | undefined;
  /** Requests received, in order. */
  readonly received: ReceivedRequest[];
  close(): Promise<void>;
}

/** The answer's output values for the responder's current label, classes and kind. */
export function responderOutput(r: Pick<EdgeResponder, 'label' | 'classes' | 'outputKind'>): Float32Array {
  if (r.outputKind === 'probabilities') {
    const values = new Float32Array(r.classes).fill(0.1 / Math.max(1, r.classes - 1));
    values[r.label] = 0.9;
    return values;
  }
  const values = new Float32Array(r.classes).fill(-5);
  values[r.label] = 5;
  return values;
}

export async function startEdgeResponder(options: {
  url: string;
  edgeId: string;
  clientId?: string;
  token?: string;
}): Promise<EdgeResponder> {
  const clientId = options.clientId ?? `responder-${options.edgeId}`;
  const client: MqttClient = await mqtt.connectAsync(options.url, {
    clientId,
    ...(options.token ? { username: clientId, password: options.token } : {}),
    reconnectPeriod: 200,
  });
  await client.subscribeAsync(topics.infer(options.edgeId), { qos: 1 });
  const responder: EdgeResponder = {
    mode: 'answer',
    label: 7,
    classes: 10,
    outputKind: 'logits',
    legacyReply: false,
    degradedBy: undefined,
    received: [],
    close: () => client.endAsync(true),
  };
  client.on('message', (_topic, payload) => {
    let request: FabricRequest;
    try {
      request = readFabricRequest(payload, LIMITS);
    } catch {
      return; // not a request the edge would serve
    }
    const id = request.id ?? '';
    const { replyTo, deadlineMs, inputQuantization } = request;
    const parameters = decodeInferMessage(payload).header.parameters ?? {};
    const first = request.tensors[0];
    // Decoded tensors may be views into the MQTT buffer: keep a copy.
    const input = first && ({ ...first, data: first.data.slice() } as Tensor);
    responder.received.push({ id, deadlineMs, replyTo, input, inputQuantization, parameters });
    if (responder.mode === 'silent') return;
    if (responder.mode === 'error') {
      client.publish(
        replyTo,
        Buffer.from(encodeErrorMessage(new FoglineError('INTERNAL', 'edge model crashed'), id)),
        { qos: 1 },
      );
      return;
    }
    const reply: FabricReplyParameters = {
      tier: 'edge',
      degraded: false,
      score: 0.99,
      edge_ms: 1.5,
      model_versions: 'digits-mid:1',
    };
    if (!responder.legacyReply) reply.output_kind = responder.outputKind;
    if (responder.degradedBy) {
      reply.degraded = true;
      reply.fallback_code = responder.degradedBy.code;
      reply.fallback_message = responder.degradedBy.message;
    }
    const message = encodeInferMessage(
      { model_name: 'digits-mid', id, parameters: reply as unknown as Parameters },
      [{ name: 'logits', datatype: 'FP32', shape: [1, responder.classes], data: responderOutput(responder) }],
    );
    client.publish(replyTo, Buffer.from(message), { qos: 1 });
  });
  return responder;
}

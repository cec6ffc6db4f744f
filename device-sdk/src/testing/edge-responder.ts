/**
 * Test helper (imported by *.test.ts only): a hand-written stand-in for the edge agent. It subscribes
 * to an edge's infer topic and answers with the shared codec, or stays silent, or sends error replies.
 */

import type { Parameters } from '@fogline/shared';
import {
  decodeInferMessage,
  encodeErrorMessage,
  encodeInferMessage,
  type FabricReplyParameters,
  FoglineError,
  topics,
} from '@fogline/shared';
import mqtt, { type MqttClient } from 'mqtt';

export type ResponderMode = 'answer' | 'silent' | 'error';

export interface EdgeResponder {
  mode: ResponderMode;
  /** Label the edge "predicts" (one-hot logits). */
  label: number;
  /** Requests received: correlation id and the deadline_ms they carried. */
  readonly received: Array<{ id: string; deadlineMs: number; replyTo: string }>;
  close(): Promise<void>;
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
    received: [],
    close: () => client.endAsync(true),
  };
  client.on('message', (_topic, payload) => {
    const request = decodeInferMessage(payload);
    if (request.kind !== 'request') return;
    const id = request.header.id ?? '';
    const replyTo = String(request.header.parameters?.reply_to);
    responder.received.push({ id, deadlineMs: Number(request.header.parameters?.deadline_ms), replyTo });
    if (responder.mode === 'silent') return;
    if (responder.mode === 'error') {
      client.publish(
        replyTo,
        Buffer.from(encodeErrorMessage(new FoglineError('INTERNAL', 'edge model crashed'), id)),
        {
          qos: 1,
        },
      );
      return;
    }
    const logits = new Float32Array(10).fill(-5);
    logits[responder.label] = 5;
    const parameters: FabricReplyParameters = {
      tier: 'edge',
      degraded: false,
      score: 0.99,
      edge_ms: 1.5,
      model_versions: 'digits-mid:1',
    };
    const reply = encodeInferMessage(
      { model_name: 'digits-mid', id, parameters: parameters as unknown as Parameters },
      [{ name: 'logits', datatype: 'FP32', shape: [1, 10], data: logits }],
    );
    client.publish(replyTo, Buffer.from(reply), { qos: 1 });
  });
  return responder;
}

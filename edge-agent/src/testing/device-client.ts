/**
 * Test support: a device as the edge sees it, over a real MQTT.js connection: publishes framed
 * inference requests on its edge's infer topic and collects the replies by correlation id.
 */

import type { DecodedInfer } from '@fogline/shared';
import { decodeInferMessage, encodeInferMessage, topics } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import mqtt, { type MqttClient } from 'mqtt';

export interface ReplyRecord {
  readonly decoded: DecodedInfer;
  /** ms from publish to reply arrival. */
  readonly elapsedMs: number;
}

export interface TestDevice {
  readonly client: MqttClient;
  readonly id: string;
  /** Sends one image; resolves with its reply (or rejects after `waitMs`). */
  infer(
    image: Float32Array,
    options?: { deadlineMs?: number; id?: string; waitMs?: number },
  ): Promise<ReplyRecord>;
  /** Publishes raw bytes on the infer topic. */
  publishRaw(payload: Uint8Array): Promise<void>;
  /** Waits for the reply with correlation id `id`. */
  reply(id: string, waitMs?: number): Promise<ReplyRecord>;
  close(): Promise<void>;
}

let sequence = 0;

export async function connectTestDevice(options: {
  url: string;
  deviceId: string;
  edgeId: string;
  token?: string;
}): Promise<TestDevice> {
  const { deviceId, edgeId } = options;
  const client = await mqtt.connectAsync(options.url, {
    protocolVersion: 4,
    clientId: deviceId,
    username: deviceId,
    password: options.token ?? 'none',
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  // As a latency-minded device SDK must: no Nagle delay on small request packets.
  (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  const replies = new Map<string, DecodedInfer>();
  const waiters = new Map<string, (d: DecodedInfer) => void>();
  const sentAt = new Map<string, number>();
  client.on('message', (_topic, payload) => {
    const decoded = decodeInferMessage(payload);
    const id = decoded.header.id ?? '';
    const wake = waiters.get(id);
    if (wake) wake(decoded);
    else replies.set(id, decoded);
  });
  await client.subscribeAsync(topics.reply(deviceId), { qos: 1 });

  const reply = (id: string, waitMs = 10_000) =>
    new Promise<ReplyRecord>((resolve, reject) => {
      const finish = (decoded: DecodedInfer) => {
        clearTimeout(timer);
        waiters.delete(id);
        resolve({ decoded, elapsedMs: performance.now() - (sentAt.get(id) ?? performance.now()) });
      };
      const timer = setTimeout(() => {
        waiters.delete(id);
        reject(new Error(`no reply for ${id} within ${waitMs} ms`));
      }, waitMs);
      const early = replies.get(id);
      if (early) {
        replies.delete(id);
        finish(early);
      } else waiters.set(id, finish);
    });

  return {
    client,
    id: deviceId,
    async infer(image, opts = {}) {
      const id = opts.id ?? `${deviceId}-${++sequence}`;
      const parameters: Record<string, string | number> = { reply_to: topics.reply(deviceId) };
      if (opts.deadlineMs !== undefined) parameters.deadline_ms = opts.deadlineMs;
      const payload = encodeInferMessage({ id, parameters }, [
        { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: image },
      ]);
      const pending = reply(id, opts.waitMs);
      sentAt.set(id, performance.now());
      await client.publishAsync(topics.infer(edgeId), Buffer.from(payload), { qos: 1 });
      return pending;
    },
    async publishRaw(payload) {
      await client.publishAsync(topics.infer(edgeId), Buffer.from(payload), { qos: 1 });
    },
    reply,
    async close() {
      await client.endAsync();
    },
  };
}

/** Test images and labels of the fixed digits split. */
export function testDigits(count: number): { images: Float32Array[]; labels: number[] } {
  const split = loadDigits('test');
  const images: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < count; i++) {
    images.push(split.images.slice(i * 784, (i + 1) * 784));
    labels.push(split.labels[i]!);
  }
  return { images, labels };
}

/** argmax of the first output tensor of a reply. */
export function labelOf(decoded: DecodedInfer): number {
  const data = decoded.tensors[0]?.data as Float32Array;
  let best = 0;
  for (let i = 1; i < data.length; i++) if (data[i]! > data[best]!) best = i;
  return best;
}

/** Unique ids per test run: Mosquitto on this machine is shared. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}

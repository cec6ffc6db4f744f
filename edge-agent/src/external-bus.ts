/**
 * LocalBus over an external MQTT 3.1.1 broker on the edge box (Mosquitto, EMQX, ...). The agent is a
 * plain client there; authentication and ACL of the devices are the broker's own configuration
 * (docs/edge-agent.md "External broker"), so `revoke` cannot act and is a no-op.
 *
 * Clean session: requests published while the agent was away are not queued for it (their deadlines
 * would be long gone); devices answer locally until it is back.
 */

import { FoglineError, topicMatches } from '@fogline/shared';
import { disableNagle } from '@fogline/shared/mqtt-client';
import mqtt, { type MqttClient } from 'mqtt';
import type { LocalBus } from './local-bus.ts';

export interface ExternalBusOptions {
  readonly url: string;
  readonly clientId: string;
  readonly username?: string;
  readonly password?: string;
  readonly reconnectPeriodMs?: number;
  readonly onError?: (err: Error) => void;
}

export async function connectExternalBus(options: ExternalBusOptions): Promise<LocalBus> {
  type Handler = (payload: Uint8Array, senderId: undefined, topic: string) => void;
  const handlers = new Map<string, Handler>();
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(
      options.url,
      {
        protocolVersion: 4,
        clientId: options.clientId,
        ...(options.username !== undefined && { username: options.username }),
        ...(options.password !== undefined && { password: options.password }),
        clean: true,
        reconnectPeriod: options.reconnectPeriodMs ?? 1000,
        connectTimeout: 10_000,
        resubscribe: true,
      },
      false,
    );
  } catch (cause) {
    throw new FoglineError('UNAVAILABLE', `cannot connect to the local broker ${options.url}`, { cause });
  }
  // MQTT.js leaves Nagle on: a reply written right after a PUBACK would wait for the peer's delayed
  // ACK (~40 ms on Linux). Small latency-bound packets go out at once instead.
  disableNagle(client);
  client.on('connect', () => disableNagle(client));
  client.on('error', (err) => options.onError?.(err));
  client.on('message', (topic, payload) => {
    for (const [filter, handler] of handlers) {
      if (topicMatches(filter, topic)) handler(payload, undefined, topic);
    }
  });
  return {
    kind: 'external',
    endpoints: { url: options.url },
    async subscribe(filter, onMessage) {
      handlers.set(filter, onMessage);
      const granted = await client.subscribeAsync(filter, { qos: 1 });
      if (granted.some((g) => g.qos === 128)) {
        handlers.delete(filter);
        throw new FoglineError('PERMISSION_DENIED', `the local broker refused the subscription to ${filter}`);
      }
    },
    async publish(topic, payload, publishOptions) {
      await client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), {
        qos: 1,
        retain: publishOptions?.retain ?? false,
      });
    },
    reportsDropped: () => undefined,
    revoke() {},
    async reloadTls() {
      throw new FoglineError('INVALID_ARG', 'an external broker reloads its own certificate');
    },
    async close() {
      await client.endAsync().catch(() => client.end(true));
    },
  };
}

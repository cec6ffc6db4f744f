/**
 * LocalBus over the embedded fogline broker (shared `createBroker`): MQTT over TCP and WebSocket for
 * the devices on the edge's LAN, which authenticate as `device` identities of this edge against the
 * synced device list (MQTT username = device id, password = device token) and are held to the ACL.
 *
 * The agent itself works in process: it sees each accepted PUBLISH on its infer topic through Aedes'
 * `publish` event, which names the sending client, so a request whose `reply_to` is another device's
 * topic can be refused; it publishes replies with `broker.publish` (QoS 1).
 */

import { type Clock, FoglineError, topicMatcher } from '@fogline/shared';
import { type BrokerOptions, createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { ServerTls, type TlsFiles } from '@fogline/shared/tls';
import type { AedesPublishPacket, Client } from 'aedes';
import type { AgentLogger } from './agent-options.ts';
import type { DeviceRegistry } from './device-registry.ts';
import type { LocalBus } from './local-bus.ts';

export interface EmbeddedBusOptions {
  readonly edgeId: string;
  readonly registry: DeviceRegistry;
  readonly host?: string;
  /** Default 1883; 0 = a free port. */
  readonly mqttPort?: number;
  readonly wsPort?: number;
  readonly maxPacketBytes?: number;
  readonly publishRate?: { ratePerSec: number; burst: number };
  readonly reportRate?: { ratePerSec: number; burst: number };
  /** MQTTS and WSS with this certificate and key (PEM files). */
  readonly tls?: TlsFiles;
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  readonly authFailures?: BrokerOptions['authFailures'];
  readonly clock: Clock;
  readonly logger: AgentLogger;
}

export const DEFAULT_EDGE_MQTT_PORT = 1883;

export async function startEmbeddedBus(options: EmbeddedBusOptions): Promise<LocalBus> {
  const { edgeId, registry, logger } = options;
  const tls = options.tls && (await ServerTls.load(options.tls));
  const broker: FoglineBroker = await createBroker({
    host: options.host,
    mqttPort: options.mqttPort ?? DEFAULT_EDGE_MQTT_PORT,
    wsPort: options.wsPort,
    tls,
    maxConnections: options.maxConnections,
    connectTimeoutMs: options.connectTimeoutMs,
    authFailures: options.authFailures,
    maxPacketBytes: options.maxPacketBytes,
    publishRate: options.publishRate,
    reportRate: options.reportRate,
    clock: options.clock,
    logger: {
      warn: (message, fields) =>
        logger.warn(`local broker: ${message} ${fields ? JSON.stringify(fields) : ''}`),
    },
    // Only devices of this edge's current list get in; everything else is refused at CONNECT. With no
    // list yet (a first start, before the cloud sent one) no token can be checked: the device is told
    // to retry (CONNACK 3, server unavailable), not that its token is wrong (4, which it never retries).
    resolveIdentity: async (clientId, token) => {
      if (registry.version === undefined) {
        throw new FoglineError('UNAVAILABLE', 'no device list yet: the cloud has not sent one');
      }
      return (await registry.verify(clientId, token)) ? { kind: 'device', id: clientId, edgeId } : null;
    },
  });
  let addresses: Awaited<ReturnType<FoglineBroker['listen']>>;
  try {
    addresses = await broker.listen();
  } catch (err) {
    await broker.close();
    throw err;
  }
  const listeners: ((packet: AedesPublishPacket, client: Client | null) => void)[] = [];
  return {
    kind: 'embedded',
    endpoints: {
      mqttPort: addresses.mqttPort,
      ...(addresses.wsPort !== undefined && { wsPort: addresses.wsPort }),
      ...(tls && { tls: true }),
    },
    async subscribe(filter, onMessage) {
      // Emitted once the broker accepted the PUBLISH (authorizePublish re-addresses refused ones).
      const matches = topicMatcher(filter);
      const listener = (packet: AedesPublishPacket, client: Client | null) => {
        if (client !== null && matches(packet.topic)) {
          onMessage(packet.payload as Buffer, client.id, packet.topic);
        }
      };
      listeners.push(listener);
      broker.aedes.on('publish', listener);
    },
    publish: (topic, payload, options) => broker.publish(topic, payload, { qos: 1, retain: options?.retain }),
    reportsDropped: () => broker.stats().reportsDropped,
    revoke(deviceIds) {
      for (const id of deviceIds) broker.revoke(id);
    },
    async reloadTls() {
      if (!tls)
        throw new FoglineError('INVALID_ARG', 'the local broker serves no TLS (--tls-cert/--tls-key)');
      await tls.reload();
    },
    async close() {
      for (const l of listeners) broker.aedes.off('publish', l);
      await broker.close();
    },
  };
}

/**
 * Test helpers for the broker (imported by *.test.ts only): a broker on 127.0.0.1 port 0 with a
 * fixed token table, real MQTT.js clients, and framed inference requests.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { BrokerOptions } from '../broker/broker-options.ts';
import { type BrokerAddresses, createBroker, type FoglineBroker } from '../broker/create-broker.ts';
import { encodeInferMessage } from '../core/codec/index.ts';
import type { Identity } from '../core/fabric/acl.ts';
import { topics } from '../core/fabric/topics.ts';

export interface Credential {
  token: string;
  identity: Identity;
}

/**
 * The identities the broker tests share. Edge edge-a (token tea) with devices dev-1..dev-3 (t1..t3)
 * and its agent agent-a (ta); agent-b (tb) serves edge-b; cloud (tc) is the cloud's service client.
 */
export const TEST_CREDENTIALS: Readonly<Record<string, Credential>> = {
  'dev-1': { token: 't1', identity: { kind: 'device', id: 'dev-1', edgeId: 'edge-a' } },
  'dev-2': { token: 't2', identity: { kind: 'device', id: 'dev-2', edgeId: 'edge-a' } },
  'dev-3': { token: 't3', identity: { kind: 'device', id: 'dev-3', edgeId: 'edge-a' } },
  'agent-a': { token: 'ta', identity: { kind: 'service', id: 'agent-a', edgeId: 'edge-a' } },
  'agent-b': { token: 'tb', identity: { kind: 'service', id: 'agent-b', edgeId: 'edge-b' } },
  'edge-a': { token: 'tea', identity: { kind: 'edge', id: 'edge-a' } },
  cloud: { token: 'tc', identity: { kind: 'service', id: 'cloud' } },
};

export interface TestBroker {
  broker: FoglineBroker;
  addresses: BrokerAddresses;
  url: string;
  /** client id → accepted credentials; tests may add or delete entries (e.g. to revoke a token). */
  credentials: Map<string, Credential[]>;
  /** Connects a real client (as `connectClient`), ended by `close()`. */
  connect(clientId: string, token: string, extra?: IClientOptions): Promise<MqttClient>;
  /** Ends every client `connect` opened, then closes the broker. */
  close(): Promise<void>;
}

export async function startTestBroker(
  credentials: Record<string, Credential | Credential[]>,
  options: Partial<BrokerOptions> = {},
): Promise<TestBroker> {
  const table = new Map(Object.entries(credentials).map(([id, c]) => [id, Array.isArray(c) ? c : [c]]));
  const broker = await createBroker({
    mqttPort: 0,
    resolveIdentity: async (clientId, token) =>
      table.get(clientId)?.find((c) => c.token === token)?.identity ?? null,
    ...options,
  });
  const addresses = await broker.listen();
  const url = `mqtt://127.0.0.1:${addresses.mqttPort}`;
  const clients: MqttClient[] = [];
  return {
    broker,
    addresses,
    url,
    credentials: table,
    async connect(clientId, token, extra) {
      const client = await connectClient(url, clientId, token, extra);
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
      await broker.close();
    },
  };
}

/** Connects a real MQTT.js client (no automatic reconnect); rejects with the CONNACK error. */
export function connectClient(url: string, clientId: string, token: string, extra: IClientOptions = {}) {
  return mqtt.connectAsync(url, {
    clientId,
    username: clientId,
    password: token,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...extra,
  });
}

/** How a connection attempt ended: CONNACK accepted, refused with a return code, or closed without CONNACK. */
export function connectOutcome(
  url: string,
  clientId: string,
  token: string,
): Promise<'connected' | number | 'closed'> {
  return clientOutcome(
    mqtt.connect(url, { clientId, username: clientId, password: token, reconnectPeriod: 0 }),
  );
}

/** How `client`'s connection attempt ended (as `connectOutcome`); the client is ended. */
export function clientOutcome(client: MqttClient): Promise<'connected' | number | 'closed'> {
  return new Promise((resolve) => {
    const finish = (outcome: 'connected' | number | 'closed') => {
      client.end(true);
      resolve(outcome);
    };
    client.once('connect', () => finish('connected'));
    client.once('error', (err) =>
      finish(
        typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 'closed',
      ),
    );
    client.once('close', () => finish('closed'));
  });
}

/** Resolves with the granted QoS per filter (128 = refused, [MQTT-3.9.3]). */
export function grantedQos(client: MqttClient, filter: string): Promise<number> {
  return new Promise((resolve, reject) => {
    client.subscribe(filter, { qos: 1 }, (err, granted, packet) => {
      // MQTT.js reports a SUBACK failure code as an error; the SUBACK itself still says what was granted.
      const code = (packet as { granted?: number[] } | undefined)?.granted?.[0] ?? granted?.[0]?.qos;
      if (typeof code === 'number') resolve(code);
      else reject(err ?? new Error('no SUBACK'));
    });
  });
}

/** Collects messages arriving on `client`. */
export function collect(client: MqttClient): Array<{ topic: string; payload: Buffer }> {
  const messages: Array<{ topic: string; payload: Buffer }> = [];
  client.on('message', (topic, payload) => messages.push({ topic, payload }));
  return messages;
}

export function inferRequest(id: string, deviceId: string): Buffer {
  const message = encodeInferMessage(
    { id, parameters: { reply_to: topics.reply(deviceId), deadline_ms: 500 } },
    [{ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: new Float32Array(784) }],
  );
  return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

/** Waits until `predicate` holds, polling every 10 ms; throws after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected) return resolve();
    client.once('close', () => resolve());
  });
}

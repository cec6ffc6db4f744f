/**
 * Test support for the cloud's fabric side: a CloudServer with auth on, its broker on 127.0.0.1
 * port 0, an admin client, and real MQTT.js clients that report how the broker answered.
 */
import { rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import mqtt, { type IClientOptions, MqttClient } from 'mqtt';
import { CloudAdminClient } from '../admin-client.ts';
import type { CloudOptions } from '../cloud-options.ts';
import { type CloudReady, CloudServer } from '../cloud-server.ts';
import { makeModelRepo, tempDir } from './cloud-fixture.ts';

export interface FabricCloud {
  server: CloudServer;
  ready: CloudReady;
  admin: CloudAdminClient;
  url: string;
  /** `mqtt://127.0.0.1:<port>` of the cloud broker. */
  mqttUrl: string;
  /** `ws://127.0.0.1:<http port>/mqtt`. */
  wsUrl: string;
  dataDir: string;
  /** Stops the server; `keepData` leaves the data dir for a restart. */
  stop(keepData?: boolean): Promise<void>;
}

export async function startFabricCloud(
  options: Partial<CloudOptions> & { models?: readonly string[] } = {},
): Promise<FabricCloud> {
  const { models = ['digits-tiny'], ...rest } = options;
  const dataDir = rest.dataDir ?? tempDir('fabric');
  const server = new CloudServer(
    {
      httpPort: 0,
      mqttPort: 0,
      host: '127.0.0.1',
      shutdownTimeoutMs: 2000,
      modelsDir: rest.modelsDir ?? makeModelRepo(models),
      serving: { workers: 1, intraOpThreads: 1 },
      ...rest,
      dataDir,
    },
    (err) => console.error('cloud internal error', err),
  );
  const ready = await server.start();
  return {
    server,
    ready,
    admin: new CloudAdminClient({ url: ready.http.url, adminToken: ready.adminToken.token }),
    url: ready.http.url,
    mqttUrl: ready.mqtt.url!,
    wsUrl: ready.mqtt.wsUrl,
    dataDir,
    async stop(keepData = false) {
      await server.stop();
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** How a CONNECT ended: connected, or the CONNACK return code / error message. */
export type ConnectOutcome = { ok: true; client: MqttClient } | { ok: false; code?: number; message: string };

/** Client options, plus the local address to connect from (`mqtt://` only; e.g. '127.0.0.2'). */
export type ConnectExtra = IClientOptions & { localAddress?: string };

/**
 * MQTT 3.1.1 client with username = client id (no reconnects, so a refusal is final). With
 * `localAddress` the socket is bound to it: loopback answers on all of 127.0.0.0/8, so a test can play
 * clients at several addresses.
 */
export function connectMqtt(
  url: string,
  clientId: string,
  password: string,
  extra: ConnectExtra = {},
): Promise<ConnectOutcome> {
  const { localAddress, ...rest } = extra;
  const options: IClientOptions = {
    protocolVersion: 4,
    clientId,
    username: clientId,
    password,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...rest,
  };
  const { hostname, port } = new URL(url);
  const client =
    localAddress === undefined
      ? mqtt.connect(url, options)
      : new MqttClient(() => createConnection({ host: hostname, port: Number(port), localAddress }), options);
  return new Promise((resolve) => {
    client.once('connect', () => resolve({ ok: true, client }));
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve({ ok: false, code: err.code, message: err.message });
    });
    client.once('close', () => {
      if (!client.connected) resolve({ ok: false, message: 'connection closed before CONNACK' });
    });
  });
}

/** Connects or throws. */
export async function mustConnect(
  url: string,
  clientId: string,
  password: string,
  extra?: ConnectExtra,
): Promise<MqttClient> {
  const outcome = await connectMqtt(url, clientId, password, extra);
  if (!outcome.ok) throw new Error(`${clientId} could not connect: ${outcome.message}`);
  return outcome.client;
}

/** The next message on `topic` (retained ones included) after subscribing. */
export function nextMessage(client: MqttClient, topic: string, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('message', onMessage);
      reject(new Error(`no message on ${topic} within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      clearTimeout(timer);
      client.off('message', onMessage);
      resolve(payload);
    };
    client.on('message', onMessage);
  });
}

/** Resolves when `client` is closed by the other side. */
export function closed(client: MqttClient, timeoutMs = 5000): Promise<void> {
  if (!client.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still connected after ${timeoutMs} ms`)), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Polls `check` until it returns true. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { topics } from '../core/fabric/topics.ts';
import {
  closed,
  collect,
  connectClient,
  grantedQos,
  startTestBroker,
  TEST_CREDENTIALS,
  type TestBroker,
  until,
} from '../testing/broker-test-kit.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Parameters<typeof startTestBroker>[1]): Promise<TestBroker> {
  const t = await startTestBroker(TEST_CREDENTIALS, options);
  cleanups.push(() => t.broker.close());
  return t;
}

async function roundTrip(deviceUrl: string, agentUrl: string): Promise<void> {
  const agent = await connectClient(agentUrl, 'agent-a', 'ta');
  cleanups.push(() => agent.endAsync(true));
  await grantedQos(agent, topics.infer('edge-a'));
  const atAgent = collect(agent);
  const dev = await connectClient(deviceUrl, 'dev-1', 't1');
  cleanups.push(() => dev.endAsync(true));
  await dev.publishAsync(topics.infer('edge-a'), 'hello over ws', { qos: 1 });
  await until(() => atAgent.length === 1, 2_000, 'message over WebSocket');
  expect(atAgent[0]!.payload.toString()).toBe('hello over ws');
}

describe('transports', () => {
  it('serves MQTT over WebSocket on its own port, sharing sessions with TCP clients', async () => {
    const t = await start({ wsPort: 0 });
    expect(t.addresses.wsPort).toBeGreaterThan(0);
    await roundTrip(`ws://127.0.0.1:${t.addresses.wsPort}/mqtt`, t.url);
  });

  it('attaches MQTT over WebSocket to an existing HTTP server at /mqtt, leaving other routes alone', async () => {
    const http: Server = createServer((_req, res) => res.end('app route'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => http.close(r)));
    const t = await start({ httpServer: http });
    const port = (http.address() as AddressInfo).port;
    await roundTrip(`ws://127.0.0.1:${port}/mqtt`, t.url);
    expect(await (await fetch(`http://127.0.0.1:${port}/other`)).text()).toBe('app route');
    // A WebSocket on another path is refused, not hung.
    const stray = mqtt.connect(`ws://127.0.0.1:${port}/not-mqtt`, {
      reconnectPeriod: 0,
      connectTimeout: 2_000,
    });
    await new Promise<void>((resolve) => stray.once('error', () => resolve()).once('close', () => resolve()));
    stray.end(true);
  });

  it('authenticates WebSocket clients like TCP ones', async () => {
    const t = await start({ wsPort: 0 });
    await expect(
      connectClient(`ws://127.0.0.1:${t.addresses.wsPort}/mqtt`, 'dev-1', 'bad'),
    ).rejects.toMatchObject({
      code: 4,
    });
  });

  it('enforces maxPacketBytes on WebSocket connections too', async () => {
    const t = await start({ wsPort: 0, maxPacketBytes: 4 * 1024 });
    const dev = await connectClient(`ws://127.0.0.1:${t.addresses.wsPort}/mqtt`, 'dev-1', 't1');
    cleanups.push(() => dev.endAsync(true));
    const gone = closed(dev);
    dev.publish(topics.infer('edge-a'), Buffer.alloc(32 * 1024), { qos: 0 });
    await gone;
    expect(t.broker.stats().oversizedPackets).toBe(1);
  });

  it('close() disconnects clients and frees the ports', async () => {
    const t = await startTestBroker(TEST_CREDENTIALS, { wsPort: 0 });
    const dev = await connectClient(t.url, 'dev-1', 't1');
    const gone = closed(dev);
    await t.broker.close();
    await gone;
    dev.end(true);
    await t.broker.close(); // idempotent
    // The TCP port is free again.
    const again = await startTestBroker(TEST_CREDENTIALS, { mqttPort: t.addresses.mqttPort });
    await again.broker.close();
  });
});

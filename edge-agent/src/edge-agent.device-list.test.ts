/**
 * The device list an edge syncs from the cloud (docs/design.md "Where the brokers are"): received as the
 * retained desired state on the cloud broker (the real fogline broker, as the cloud runs it), cached
 * on disk for restarts with the cloud down, and enforced at once when a device is removed; before the
 * first list a device is told to retry, not refused. Also the
 * edge's retained status with its last will, and its telemetry.
 */

import { topics } from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryMessage } from './edge-telemetry.ts';
import { type AgentFixture, desiredStateFor, makeDataDir, startTestAgent } from './testing/agent-fixture.ts';
import { testDigits } from './testing/device-client.ts';
import { connectAgentDevice } from './testing/with-agent.ts';

const edgeId = 'edge-sync';
const edgeToken = 'edge-token';
const dev1 = { id: 'dev-1', token: 'tok-1' };
const dev2 = { id: 'dev-2', token: 'tok-2' };
const { images } = testDigits(2);

let cloudBroker: FoglineBroker;
let cloudUrl: string;
let cloudService: MqttClient;
let dataDir: string;
const retained = new Map<string, string>();
const telemetry: TelemetryMessage[] = [];

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function publishDesired(devices: (typeof dev1)[], version: number): Promise<void> {
  const state = await desiredStateFor(devices, version);
  await cloudService.publishAsync(topics.desired(edgeId), JSON.stringify(state), { qos: 1, retain: true });
}

beforeAll(async () => {
  dataDir = await makeDataDir();
  cloudBroker = await createBroker({
    host: '127.0.0.1',
    mqttPort: 0,
    resolveIdentity: async (clientId, token) => {
      if (clientId === edgeId && token === edgeToken) return { kind: 'edge', id: edgeId };
      if (clientId === 'cloud-svc' && token === 'svc') return { kind: 'service', id: 'cloud-svc' };
      return null;
    },
  });
  cloudUrl = `mqtt://127.0.0.1:${(await cloudBroker.listen()).mqttPort}`;
  cloudService = await mqtt.connectAsync(cloudUrl, {
    clientId: 'cloud-svc',
    username: 'cloud-svc',
    password: 'svc',
  });
  cloudService.on('message', (topic, payload) => {
    if (topic === topics.telemetry(edgeId))
      telemetry.push(JSON.parse(payload.toString()) as TelemetryMessage);
    else retained.set(topic, payload.toString());
  });
  await cloudService.subscribeAsync(
    [topics.status(edgeId), topics.telemetry(edgeId), topics.reported(edgeId)],
    {
      qos: 1,
    },
  );
});

afterAll(async () => {
  await cloudService?.endAsync();
  await cloudBroker?.close();
});

describe('device list sync', () => {
  let fixture: AgentFixture;

  it('applies the desired state from the cloud, caches it, and reports online, telemetry and what it applied', async () => {
    fixture = await startTestAgent({
      edgeId,
      token: edgeToken,
      dataDir,
      cloudBrokerUrl: cloudUrl,
      telemetryIntervalMs: 200,
    });
    // No list yet (first start, nothing cached): a device is told to retry (CONNACK 3, server
    // unavailable), not that its token is wrong (4, which a device SDK takes as final).
    expect(fixture.agent.deviceListVersion).toBeUndefined();
    await expect(connectAgentDevice(fixture, dev1)).rejects.toMatchObject({ code: 3 });
    await publishDesired([dev1, dev2], 1);
    await until(() => fixture.agent.deviceListVersion === 1, 'device list v1');
    await until(() => retained.get(topics.status(edgeId)) === 'online', 'status online');

    const device = await connectAgentDevice(fixture, dev1);
    const { decoded } = await device.infer(images[0]!, { deadlineMs: 2000 });
    expect(decoded.kind).toBe('response');
    await device.close();

    await until(() => telemetry.some((t) => t.counts.received >= 1), 'telemetry with the request');
    const last = telemetry.at(-1)!;
    expect(last).toMatchObject({ edgeId, model: 'digits-mid-int8:1', breaker: 'closed', devices: 2 });
    await until(
      () => retained.get(topics.reported(edgeId))?.includes('"deviceListVersion":1') === true,
      'reported',
    );
  });

  it('disconnects a device within seconds of its removal from the list, and refuses it afterwards', async () => {
    const device = await connectAgentDevice(fixture, dev2);
    let closed = false;
    device.client.on('close', () => {
      closed = true;
    });
    await publishDesired([dev1], 2);
    await until(() => closed, 'the revoked device to be disconnected', 5000);
    await device.client.endAsync(true);
    await expect(connectAgentDevice(fixture, dev2)).rejects.toThrow();
  });

  it('publishes a retained offline when it stops', async () => {
    await fixture.stop();
    await until(() => retained.get(topics.status(edgeId)) === 'offline', 'status offline', 2000);
  });

  it('authenticates its devices from the disk cache after a restart with the cloud unreachable', async () => {
    const restarted = await startTestAgent({
      edgeId,
      token: edgeToken,
      dataDir,
      cloudBrokerUrl: 'mqtt://127.0.0.1:1', // nothing listens: the cloud is down
    });
    try {
      expect(restarted.info.deviceListVersion).toBe(2);
      const device = await connectAgentDevice(restarted, dev1);
      const { decoded } = await device.infer(images[1]!, { deadlineMs: 2000 });
      expect(decoded.kind).toBe('response');
      await device.close();
      await expect(connectAgentDevice(restarted, dev2)).rejects.toThrow();
    } finally {
      await restarted.stop();
    }
  });
});

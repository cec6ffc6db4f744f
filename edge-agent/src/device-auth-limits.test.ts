/**
 * Failed authentications on an edge's embedded broker (docs/security.md "Authentication cost"): a
 * flood of wrong device tokens from one loopback address is refused at once (CONNACK 3) past its
 * budget, while a listed device at another address connects and infers, even with its id under attack.
 */
import { createConnection } from 'node:net';
import { MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { startTestAgent } from './testing/agent-fixture.ts';
import { testDigits } from './testing/device-client.ts';
import { connectAgentDevice } from './testing/with-agent.ts';

const device = { id: 'dev-1', token: 'tok-1' };

/** The CONNACK return code of one CONNECT from `localAddress` (0 = connected). */
function connackFrom(url: string, localAddress: string, clientId: string, password: string) {
  const { hostname, port } = new URL(url);
  const client = new MqttClient(
    () => createConnection({ host: hostname, port: Number(port), localAddress }),
    { protocolVersion: 4, clientId, username: clientId, password, reconnectPeriod: 0, connectTimeout: 5000 },
  );
  return new Promise<number | string>((resolve) => {
    client.once('connect', () => {
      resolve(0);
      client.end(true);
    });
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(err.code ?? err.message);
    });
    client.once('close', () => resolve('closed before CONNACK'));
  });
}

describe('the edge broker under a flood of wrong device tokens', () => {
  it('refuses the flooding address without a lookup; a listed device elsewhere, its id attacked, connects and infers', async () => {
    const fixture = await startTestAgent({
      devices: [device],
      localBroker: {
        kind: 'embedded',
        host: '127.0.0.1',
        mqttPort: 0,
        authFailures: { perAddress: { ratePerSec: 0.05, burst: 4 }, perId: { ratePerSec: 0.05, burst: 2 } },
      },
    });
    try {
      const codes = await Promise.all(
        Array.from({ length: 12 }, (_, i) => connackFrom(fixture.url, '127.0.0.21', 'dev-1', `wrong-${i}`)),
      );
      // The broker reserves a token per CONNECT: however concurrent, no more than the burst are checked.
      expect(codes.filter((c) => c === 4)).toHaveLength(4); // checked: bad user name or password
      expect(codes.filter((c) => c === 3)).toHaveLength(8); // refused at once: server unavailable
      // The id is past its failure budget, yet its right token gets in (device-client connects from 127.0.0.1).
      const dev = await connectAgentDevice(fixture, device);
      try {
        const reply = await dev.infer(testDigits(1).images[0]!, { deadlineMs: 5000 });
        expect(reply.decoded.header.parameters).toMatchObject({ tier: 'edge' });
      } finally {
        await dev.close();
      }
    } finally {
      await fixture.stop();
    }
  });
});

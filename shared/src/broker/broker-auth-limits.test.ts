/**
 * The broker's failed-authentication budget per source address (docs/security.md "Authentication
 * cost"), with real MQTT.js clients (3.1.1 and 5) bound to several loopback addresses.
 */
import { type AddressInfo, createConnection, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../testing/broker-test-kit.ts';
import { connectProtocolLevel, refuseThrottledConnection } from './throttled-connection.ts';

let t: TestBroker;

beforeEach(async () => {
  t = await startTestBroker(
    { 'dev-1': { token: 'tok-1', identity: { kind: 'device', id: 'dev-1', edgeId: 'edge-a' } } },
    { authFailures: { perAddress: { ratePerSec: 0.05, burst: 3 } } },
  );
});

afterEach(async () => {
  await t.close();
});

/** The CONNACK code (0 = connected) of one CONNECT from `localAddress`. */
function connackFrom(
  localAddress: string,
  token: string,
  protocolVersion: 4 | 5 = 4,
  { url = t.url, clientId = 'dev-1' } = {},
) {
  const port = Number(new URL(url).port);
  const client = new MqttClient(() => createConnection({ host: '127.0.0.1', port, localAddress }), {
    protocolVersion,
    clientId,
    username: clientId,
    password: token,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
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

describe('failed authentications per source address', () => {
  it('cuts an address past its budget at accept, before the resolver, while others connect', async () => {
    const codes: Array<number | string> = [];
    for (let i = 0; i < 6; i++) codes.push(await connackFrom('127.0.0.31', `wrong-${i}`));
    expect(codes).toEqual([
      4,
      4,
      4,
      'closed before CONNACK',
      'closed before CONNACK',
      'closed before CONNACK',
    ]);
    expect(await connackFrom('127.0.0.31', 'wrong', 5)).toBe('closed before CONNACK');
    // The address is out, whatever it presents.
    expect(await connackFrom('127.0.0.31', 'tok-1')).toBe('closed before CONNACK');
    expect(t.broker.stats().connectRefused['auth-throttled-at-accept']).toBe(5);
    expect(t.broker.stats().connectRefused['bad-credentials']).toBe(3);
    expect(await connackFrom('127.0.0.32', 'tok-1')).toBe(0);
  });

  it('counts only failures: an address whose clients connect rightly is never refused', async () => {
    for (let i = 0; i < 10; i++) expect(await connackFrom('127.0.0.33', 'tok-1')).toBe(0);
  });
});

describe('concurrent CONNECTs from one address', () => {
  /** A broker whose checks take 30 ms each, counting the most running at once. */
  async function slowBroker(devices: number) {
    const tokens = new Map(Array.from({ length: devices }, (_, i) => [`dev-${i}`, `tok-${i}`]));
    const checks = { running: 0, most: 0, total: 0 };
    const slow = await startTestBroker(
      {},
      {
        authFailures: { perAddress: { ratePerSec: 0.05, burst: 3 } },
        resolveIdentity: async (clientId, token) => {
          checks.total++;
          checks.most = Math.max(checks.most, ++checks.running);
          await sleep(30);
          checks.running--;
          return tokens.get(clientId) === token ? { kind: 'device', id: clientId, edgeId: 'edge-a' } : null;
        },
      },
    );
    return { slow, checks };
  }

  it('accepts many valid concurrent CONNECTs (a NAT, a reconnect storm) with at most the budget checked at once', async () => {
    const { slow, checks } = await slowBroker(30);
    try {
      const codes = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          connackFrom('127.0.0.35', `tok-${i}`, 4, { url: slow.url, clientId: `dev-${i}` }),
        ),
      );
      expect(codes).toEqual(Array(30).fill(0));
      expect(checks.most).toBeLessThanOrEqual(3);
      expect(slow.broker.stats().connectRefused['auth-throttled']).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it('still bounds a concurrent bad-password flood: the budget is checked, every other CONNECT refused unchecked (CONNACK 3, or cut at accept)', async () => {
    const { slow, checks } = await slowBroker(1);
    try {
      const codes = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          connackFrom('127.0.0.36', `wrong-${i}`, 4, { url: slow.url, clientId: 'dev-0' }),
        ),
      );
      expect(codes.filter((c) => c === 4)).toHaveLength(3);
      // The rest were refused unchecked: CONNACK 3 when accepted before the budget was spent, else
      // cut at accept.
      expect(codes.filter((c) => c === 3 || c === 'closed before CONNACK')).toHaveLength(27);
      expect(checks.total).toBe(3);
      expect(await connackFrom('127.0.0.36', 'tok-0', 4, { url: slow.url, clientId: 'dev-0' })).toBe(
        'closed before CONNACK',
      );
    } finally {
      await slow.close();
    }
  });
});

describe('a connection throttled after its accept (a TLS handshake or WebSocket upgrade under way)', () => {
  it('is answered CONNACK 3 (MQTT 5: 0x89 server busy) without an Aedes client, and closed', async () => {
    const server = createServer((socket) => refuseThrottledConnection(socket, 5000));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect(await connackFrom('127.0.0.37', 'tok-1', 4, { url })).toBe(3);
      expect(await connackFrom('127.0.0.37', 'tok-1', 5, { url })).toBe(0x89);
    } finally {
      server.close();
    }
  });
});

describe('connectProtocolLevel', () => {
  it('reads the level of a CONNECT, waits for more bytes, and refuses anything else', () => {
    const v4 = Buffer.from([0x10, 0x20, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0xc2]);
    expect(connectProtocolLevel(v4)).toBe(4);
    expect(connectProtocolLevel(v4.subarray(0, 5))).toBeUndefined();
    expect(
      connectProtocolLevel(Buffer.from([0x10, 0x80, 0x01, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05])),
    ).toBe(5);
    expect(connectProtocolLevel(Buffer.from('GET / HTTP/1.1'))).toBeNull();
    expect(connectProtocolLevel(Buffer.alloc(0))).toBeUndefined();
  });
});

/**
 * Fail2ban at accept on the broker's own listeners (docs/security.md "Authentication cost"): once an
 * address has spent its failed-authentication budget, its new MQTTS and WSS connections are destroyed
 * when accepted, before the TLS handshake, until its bucket refills; another address is never affected.
 * Real MQTT.js clients bound to loopback addresses, a real TLS certificate.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import mqtt, { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOutcome, startTestBroker, type TestBroker } from '../testing/broker-test-kit.ts';
import { makeDevCertificates } from '../tls/dev-certs.ts';
import { ServerTls } from '../tls/server-tls.ts';

const DEVICE = { token: 'tok-1', identity: { kind: 'device', id: 'dev-1', edgeId: 'edge-a' } } as const;
let t: TestBroker;
let ca: string;

beforeAll(async () => {
  const certs = makeDevCertificates(['localhost', '127.0.0.1']);
  ca = certs.caCert;
  const dir = mkdtempSync(join(tmpdir(), 'fogline-accept-tls-'));
  writeFileSync(join(dir, 'c.pem'), certs.serverCert);
  writeFileSync(join(dir, 'k.pem'), certs.serverKey);
  const tls = await ServerTls.load({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem') });
  rmSync(dir, { recursive: true, force: true });
  // 2 failures per address, one forgiven every 2 s.
  t = await startTestBroker(
    { 'dev-1': DEVICE },
    { wsPort: 0, tls, authFailures: { perAddress: { ratePerSec: 0.5, burst: 2 } } },
  );
});

afterAll(async () => {
  await t?.close();
});

const options = (token: string) => ({
  clientId: 'dev-1',
  username: 'dev-1',
  password: token,
  reconnectPeriod: 0,
  connectTimeout: 5000,
});

/** An MQTTS client from `localAddress`. */
const mqtts = (localAddress: string, token: string) =>
  new MqttClient(
    () =>
      tlsConnect({
        servername: 'localhost',
        socket: createConnection({ host: '127.0.0.1', port: t.addresses.mqttPort!, localAddress }),
        ca,
      }),
    options(token),
  );

/** An MQTT over WSS client from `localAddress`. */
const wss = (localAddress: string, token: string) =>
  mqtt.connect(`wss://127.0.0.1:${t.addresses.wsPort}/mqtt`, {
    ...options(token),
    wsOptions: { localAddress, ca },
  });

describe('an address over its failed-authentication budget', () => {
  it('is cut at accept on MQTTS and WSS until its bucket refills, while a valid client at another address connects', async () => {
    const flooder = '127.0.0.41';
    expect(await clientOutcome(mqtts(flooder, 'wrong-1'))).toBe(4);
    expect(await clientOutcome(wss(flooder, 'wrong-2'))).toBe(4);
    const before = t.broker.stats().connectRefused;

    // Budget spent: every new connection is destroyed at accept, the right token's too.
    expect(await clientOutcome(mqtts(flooder, 'wrong-3'))).toBe('closed');
    expect(await clientOutcome(wss(flooder, 'wrong-4'))).toBe('closed');
    expect(await clientOutcome(mqtts(flooder, DEVICE.token))).toBe('closed');
    const after = t.broker.stats().connectRefused;
    expect(after['auth-throttled-at-accept'] - before['auth-throttled-at-accept']).toBe(3);
    expect(after['bad-credentials']).toBe(before['bad-credentials']); // nothing was checked
    expect(after['auth-throttled']).toBe(0); // nothing was read: no CONNACK 3

    // Meanwhile a valid client at another address connects on both listeners.
    expect(await clientOutcome(mqtts('127.0.0.2', DEVICE.token))).toBe('connected');
    expect(await clientOutcome(wss('127.0.0.2', DEVICE.token))).toBe('connected');

    // Once a failure is forgiven, the address gets back in.
    await new Promise((r) => setTimeout(r, t.broker.authThrottle.blockedFor(flooder) + 50));
    expect(await clientOutcome(mqtts(flooder, DEVICE.token))).toBe('connected');
    expect(await clientOutcome(wss(flooder, DEVICE.token))).toBe('connected');
  });
});

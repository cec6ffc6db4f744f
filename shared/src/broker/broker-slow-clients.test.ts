/**
 * Slow clients on the broker (docs/operations.md "Slow clients and caps"), on real sockets: a TCP
 * connect with no CONNECT, half a CONNECT, and (MQTTS) a connect with no TLS handshake are closed
 * within the connect timeout while a normal client connects; past `maxConnections` a new socket is
 * closed at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectClient,
  startTestBroker,
  TEST_CREDENTIALS,
  type TestBroker,
} from '../testing/broker-test-kit.ts';
import { openSlowSocket } from '../testing/slow-socket.ts';
import { makeDevCertificates } from '../tls/dev-certs.ts';
import { ServerTls } from '../tls/server-tls.ts';

let t: TestBroker | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});
const dev = TEST_CREDENTIALS['dev-1']!;
const portOf = (b: TestBroker) => b.addresses.mqttPort!;

describe('broker slow clients and caps', { timeout: 20_000 }, () => {
  it('closes a connect with no CONNECT, and one with half a CONNECT, within connectTimeoutMs', async () => {
    t = await startTestBroker(TEST_CREDENTIALS, { connectTimeoutMs: 500 });
    const silent = await openSlowSocket(portOf(t));
    const half = await openSlowSocket(portOf(t));
    const connect = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: 'dev-1',
      clean: true,
      keepalive: 30,
      username: 'dev-1',
      password: Buffer.from(dev.token),
    });
    half.socket.write(connect.subarray(0, 8));
    const normal = await t.connect('dev-1', dev.token);
    expect(normal.connected).toBe(true);
    for (const s of [silent, half]) {
      const lived = await s.closedAfter(5_000);
      expect(lived).toBeGreaterThanOrEqual(400);
      expect(lived).toBeLessThan(500 + 1500);
    }
    expect(normal.connected).toBe(true);
  });

  it('MQTTS: a connect that never starts its TLS handshake is cut within connectTimeoutMs', async () => {
    const certs = makeDevCertificates(['localhost']);
    const dir = mkdtempSync(join(tmpdir(), 'fogline-broker-tls-'));
    writeFileSync(join(dir, 'c.pem'), certs.serverCert);
    writeFileSync(join(dir, 'k.pem'), certs.serverKey);
    const tls = await ServerTls.load({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem') });
    rmSync(dir, { recursive: true, force: true });
    t = await startTestBroker(TEST_CREDENTIALS, { connectTimeoutMs: 500, tls });
    const silent = await openSlowSocket(portOf(t));
    const normal = await connectClient(`mqtts://localhost:${portOf(t)}`, 'dev-1', dev.token, {
      ca: certs.caCert,
    });
    expect(normal.connected).toBe(true);
    normal.end(true);
    const lived = await silent.closedAfter(5_000);
    expect(lived).toBeLessThan(500 + 1500);
  });

  it('past maxConnections a new socket is closed at once, before any work', async () => {
    t = await startTestBroker(TEST_CREDENTIALS, { connectTimeoutMs: 5_000, maxConnections: 2 });
    const held = await Promise.all([1, 2].map(() => openSlowSocket(portOf(t!))));
    const extra = await openSlowSocket(portOf(t));
    expect(await extra.closedAfter(1_000)).toBeLessThan(1_000);
    for (const h of held) h.socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const normal = await t.connect('dev-1', dev.token);
    expect(normal.connected).toBe(true);
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { topics } from '../core/fabric/topics.ts';
import { closed, startTestBroker, type TestBroker, until } from '../testing/broker-test-kit.ts';

let t: TestBroker;

beforeEach(async () => {
  t = await startTestBroker({
    'dev-1': [
      { token: 'tok-1', identity: { kind: 'device', id: 'dev-1', edgeId: 'edge-a' } },
      // A second valid token for the same device (e.g. during rotation): "other credentials".
      { token: 'tok-1-rotated', identity: { kind: 'device', id: 'dev-1', edgeId: 'edge-a' } },
    ],
    'edge-a': { token: 'tok-edge', identity: { kind: 'edge', id: 'edge-a' } },
  });
});

afterEach(async () => {
  await t.close();
});

describe('authentication (username = client id, password = token)', () => {
  it('accepts valid credentials and knows the identity', async () => {
    await t.connect('dev-1', 'tok-1');
    expect(t.broker.clients()).toEqual([
      { clientId: 'dev-1', identity: { kind: 'device', id: 'dev-1', edgeId: 'edge-a' } },
    ]);
    expect(t.broker.stats().connectedClients).toBe(1);
  });

  it('refuses a bad token with "bad user name or password"', async () => {
    await expect(t.connect('dev-1', 'wrong')).rejects.toMatchObject({ code: 4 });
    await expect(t.connect('nobody', 'tok-1')).rejects.toMatchObject({ code: 4 });
    expect(t.broker.stats().connectRefused['bad-credentials']).toBe(2);
  });

  it('refuses a username that is not the client id, and a missing token', async () => {
    await expect(t.connect('dev-1', 'tok-1', { username: 'edge-a' })).rejects.toMatchObject({
      code: 4,
    });
    await expect(t.connect('dev-1', '', { password: undefined })).rejects.toMatchObject({
      code: 4,
    });
    expect(t.broker.stats().connectRefused['username-mismatch']).toBe(1);
    expect(t.broker.stats().connectRefused['bad-credentials']).toBe(1);
  });

  it('refuses a client id already connected with other credentials, keeping the first connection', async () => {
    const first = await t.connect('dev-1', 'tok-1');
    await expect(t.connect('dev-1', 'tok-1-rotated')).rejects.toMatchObject({ code: 2 });
    expect(first.connected).toBe(true);
    expect(t.broker.stats().connectRefused['client-id-taken']).toBe(1);
  });

  it('lets the same credentials take over the session ([MQTT-3.1.4-2])', async () => {
    const first = await t.connect('dev-1', 'tok-1');
    const firstClosed = closed(first);
    const second = await t.connect('dev-1', 'tok-1');
    await firstClosed;
    expect(second.connected).toBe(true);
    await until(() => t.broker.stats().connectedClients === 1, 2_000, 'one client');
  });

  it('revoke disconnects the client at once, and the revoked token cannot reconnect', async () => {
    const device = await t.connect('dev-1', 'tok-1');
    const gone = closed(device);
    t.credentials.delete('dev-1'); // the store refuses the token from now on
    const start = Date.now();
    expect(t.broker.revoke('dev-1')).toBe(true);
    await gone;
    expect(Date.now() - start).toBeLessThan(1_000);
    await expect(t.connect('dev-1', 'tok-1')).rejects.toMatchObject({ code: 4 });
    expect(t.broker.revoke('dev-1')).toBe(false);
    expect(t.broker.stats().revoked).toBe(1);
  });

  it("revoke sends no will: a revoked edge's `offline` never reaches a subscriber, while a dropped connection's does", async () => {
    const will = {
      topic: topics.status('edge-a'),
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
    };
    const wills: string[] = [];
    await new Promise<void>((done) =>
      t.broker.aedes.subscribe(
        topics.status('edge-a'),
        (packet, next) => {
          wills.push(Buffer.from(packet.payload as Buffer).toString());
          next();
        },
        done,
      ),
    );
    const dropped = await t.connect('edge-a', 'tok-edge', { will });
    dropped.stream.destroy(); // no DISCONNECT: the will is sent
    await until(() => wills.length === 1, 2_000, 'the will of a dropped connection');

    const revoked = await t.connect('edge-a', 'tok-edge', { will });
    const gone = closed(revoked);
    expect(t.broker.revoke('edge-a')).toBe(true);
    await gone;
    await new Promise((r) => setTimeout(r, 300)); // time for a will to come, were it sent
    expect(wills).toEqual(['offline']);
  });

  it('refuses a will outside the client ACL with "not authorized"', async () => {
    const will = {
      topic: topics.status('edge-b'),
      payload: Buffer.from('offline'),
      qos: 1 as const,
      retain: true,
    };
    await expect(t.connect('edge-a', 'tok-edge', { will })).rejects.toMatchObject({ code: 5 });
    const ownWill = { ...will, topic: topics.status('edge-a') };
    await t.connect('edge-a', 'tok-edge', { will: ownWill });
    expect(t.broker.stats().connectRefused['will-topic']).toBe(1);
  });

  it('answers "server unavailable" when the identity resolver fails, and keeps running', async () => {
    const failing = await startTestBroker(
      {},
      {
        resolveIdentity: async () => {
          throw new Error('database down');
        },
        // One failed authentication per address: a resolver failure checked nothing, so it takes none.
        authFailures: { perAddress: { ratePerSec: 0.01, burst: 1 } },
      },
    );
    try {
      for (let i = 0; i < 3; i++) {
        await expect(failing.connect('dev-1', 'tok-1')).rejects.toMatchObject({ code: 3 });
      }
      expect(failing.broker.stats().connectRefused).toMatchObject({
        'resolver-error': 3,
        'auth-throttled': 0,
      });
    } finally {
      await failing.close();
    }
  });

  it('answers "server unavailable" when the resolver throws instead of rejecting, and keeps running', async () => {
    const failing = await startTestBroker(
      {},
      {
        resolveIdentity: () => {
          throw new Error('resolver bug');
        },
      },
    );
    try {
      await expect(failing.connect('dev-1', 'tok-1')).rejects.toMatchObject({ code: 3 });
      await expect(failing.connect('dev-1', 'tok-1')).rejects.toMatchObject({ code: 3 });
      expect(failing.broker.stats().connectRefused['resolver-error']).toBe(2);
    } finally {
      await failing.close();
    }
  });
});

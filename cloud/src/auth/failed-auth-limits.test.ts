/**
 * Failed authentications on a real cloud (docs/security.md "Authentication cost"): HTTP over node:http
 * and MQTT.js on the cloud broker, from several loopback addresses (127.0.0.0/8 all answer), so one
 * address can flood while another is a valid client.
 */
import { request } from 'node:http';
import { generateSecret, scryptPool } from '@fogline/shared/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryInferRequest, digits } from '../testing/cloud-fixture.ts';
import { connectMqtt, type FabricCloud, startFabricCloud } from '../testing/fabric-fixture.ts';

const BURST = 5;
let cloud: FabricCloud;

beforeAll(async () => {
  cloud = await startFabricCloud({
    // A small budget per address (refilling slowly), and per id: failures past 3 wait 200 ms.
    mqtt: {
      authFailures: { perAddress: { ratePerSec: 0.05, burst: BURST }, perId: { ratePerSec: 0.05, burst: 3 } },
    },
  });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
});

interface Answer {
  status: number;
  retryAfter?: string;
}

/** One OIP infer from `localAddress` with `authorization`. */
function inferFrom(localAddress: string, authorization: string): Promise<Answer> {
  const { body, headers } = binaryInferRequest(digits(1).images);
  const url = new URL('/v2/models/digits-tiny/infer', cloud.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', localAddress, headers: { ...headers, authorization } },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'] as string | undefined,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The CONNACK return code a CONNECT from `localAddress` got (0 = connected, then closed). */
async function connackFrom(
  localAddress: string,
  clientId: string,
  password: string,
): Promise<number | string> {
  const outcome = await connectMqtt(cloud.mqttUrl, clientId, password, { localAddress });
  if (!outcome.ok) return outcome.code ?? outcome.message;
  await outcome.client.endAsync();
  return 0;
}

const wrongEdgeToken = () => generateSecret('fge_');

describe('failed authentications per source address', () => {
  it('refuses a flooding address at once (HTTP 429 + Retry-After, then cut at accept) while a valid client elsewhere connects and infers', async () => {
    const { token } = await cloud.admin.createEdge('flood-target');
    const checksBefore = scryptPool.load.started;
    const flood = await Promise.all(
      Array.from({ length: 30 }, () =>
        // 0: no answer, the connection cut at accept (accepted after the budget was spent).
        inferFrom('127.0.0.11', `Bearer flood-target:${wrongEdgeToken()}`).catch(() => ({ status: 0 })),
      ),
    );
    // An address has at most its budget's tokens in checks at once; the rest of a concurrent wave
    // waits, unhashed, and once the failures have emptied the budget it is refused.
    const statuses = flood.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(BURST);
    expect(statuses.filter((s) => s === 429 || s === 0)).toHaveLength(30 - BURST);
    expect(scryptPool.load.started - checksBefore).toBe(BURST);
    const next = await inferFrom('127.0.0.11', `Bearer flood-target:${wrongEdgeToken()}`);
    expect(next.status).toBe(429);
    expect(Number(next.retryAfter)).toBeGreaterThanOrEqual(1);
    // The address is refused whatever it presents, a right token included, until its bucket refills.
    expect((await inferFrom('127.0.0.11', `Bearer flood-target:${token}`)).status).toBe(429);
    // HTTP and the broker share the budget: the same address's CONNECT is cut at accept.
    expect(await connackFrom('127.0.0.11', 'flood-target', token)).toBe('connection closed before CONNACK');

    // A valid client at another address is served: HTTP infer and an MQTT CONNECT with the right token.
    expect((await inferFrom('127.0.0.12', `Bearer flood-target:${token}`)).status).toBe(200);
    expect(await connackFrom('127.0.0.12', 'flood-target', token)).toBe(0);
  });

  it("never refuses a valid client's burst: many concurrent first requests from one address, all served", async () => {
    const { token } = await cloud.admin.createEdge('burst-client');
    const burst = await Promise.all(
      Array.from({ length: 3 * BURST }, () => inferFrom('127.0.0.15', `Bearer burst-client:${token}`)),
    );
    expect(burst.map((a) => a.status)).toEqual(Array(3 * BURST).fill(200));
  });

  it('limits an MQTT CONNECT flood on the cloud broker the same way', async () => {
    const { token } = await cloud.admin.createEdge('mqtt-target');
    const codes: Array<number | string> = [];
    for (let i = 0; i < BURST + 5; i++)
      codes.push(await connackFrom('127.0.0.13', 'mqtt-target', wrongEdgeToken()));
    expect(codes.slice(0, BURST)).toEqual(Array(BURST).fill(4)); // bad user name or password
    // Cut at accept, unread: no lookup, no CONNACK.
    expect(codes.slice(BURST)).toEqual(Array(5).fill('connection closed before CONNACK'));
    expect(
      cloud.server.fabric.broker.stats().connectRefused['auth-throttled-at-accept'],
    ).toBeGreaterThanOrEqual(5);
    expect(await connackFrom('127.0.0.14', 'mqtt-target', token)).toBe(0);
  });
});

describe('failed authentications per id', () => {
  it('never locks out the right token: an id attacked from many addresses still admits its holder', async () => {
    const { token } = await cloud.admin.createEdge('attacked');
    // 4 addresses × 4 wrong tokens: 16 failures on the id, far past its budget of 3 (each address
    // stays within its own budget of 5).
    for (let a = 0; a < 4; a++) {
      const address = `127.0.1.${a + 1}`;
      const answers = await Promise.all([
        inferFrom(address, `Bearer attacked:${wrongEdgeToken()}`),
        inferFrom(address, `Bearer attacked:${wrongEdgeToken()}`),
        connackFrom(address, 'attacked', wrongEdgeToken()),
        connackFrom(address, 'attacked', wrongEdgeToken()),
      ]);
      expect(answers).toEqual([
        { status: 401, retryAfter: undefined },
        { status: 401, retryAfter: undefined },
        4,
        4,
      ]);
    }
    // The right token, never seen before (so it is checked, not answered from a cache), is accepted.
    expect(await connackFrom('127.0.1.10', 'attacked', token)).toBe(0);
    expect((await inferFrom('127.0.1.11', `Bearer attacked:${token}`)).status).toBe(200);
  });
});

describe('malformed tokens', () => {
  it('are refused before any lookup, on HTTP and MQTT', async () => {
    const { token } = await cloud.admin.createEdge('shapes');
    for (const bad of ['fge_short', `fge_${'a'.repeat(42)}!`, `${token}x`]) {
      expect((await inferFrom('127.0.2.1', `Bearer shapes:${bad}`)).status).toBe(401);
      expect(await connackFrom('127.0.2.2', 'shapes', bad)).toBe(4);
    }
    expect((await inferFrom('127.0.2.3', `Bearer shapes:${token}`)).status).toBe(200);
  });
});

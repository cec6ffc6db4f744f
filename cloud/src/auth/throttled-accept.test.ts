/**
 * Fail2ban at accept on a real cloud (docs/security.md "Authentication cost"): once an address has
 * spent its failed-authentication budget, a request on a connection it already holds is answered 429
 * and that connection closed, and every new connection from it (HTTP, MQTT over the HTTP listener's
 * WebSocket, the broker's MQTT/TCP) is destroyed at accept, until its bucket refills. A valid client
 * at another address is served throughout.
 */
import { Agent, request } from 'node:http';
import { generateSecret } from '@fogline/shared/secrets';
import { clientOutcome } from '@fogline/shared/testing';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryInferRequest, digits } from '../testing/cloud-fixture.ts';
import { connectMqtt, type FabricCloud, startFabricCloud } from '../testing/fabric-fixture.ts';

const FLOODER = '127.0.0.21';
const OTHER_FLOODER = '127.0.0.22';
const VALID = '127.0.0.2';
let cloud: FabricCloud;

beforeAll(async () => {
  cloud = await startFabricCloud({
    // 3 failures per address, one forgiven every 5 s; failures per id never delayed here.
    mqtt: {
      authFailures: { perAddress: { ratePerSec: 0.2, burst: 3 }, perId: { ratePerSec: 100, burst: 100 } },
    },
  });
}, 120_000);

afterAll(async () => {
  await cloud?.stop();
});

interface Answer {
  status: number;
  connection?: string;
  retryAfter?: string;
  /** The response's socket, closed once the server ends the connection. */
  closed: Promise<void>;
}

/** One OIP infer from `localAddress` with the edge's `token` (through `agent`, when given). */
function inferFrom(localAddress: string, token: string, agent?: Agent): Promise<Answer> {
  const { body, headers } = binaryInferRequest(digits(1).images);
  const url = new URL('/v2/models/digits-tiny/infer', cloud.url);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', localAddress, agent, headers: { ...headers, authorization: `Bearer door:${token}` } },
      (res) => {
        const closed = new Promise<void>((done) =>
          res.socket.destroyed ? done() : res.socket.once('close', () => done()),
        );
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            retryAfter: res.headers['retry-after'] as string | undefined,
            closed,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The error a request met, or its status. */
const outcome = (answer: Promise<Answer>) =>
  answer.then(
    (a) => a.status,
    (err: NodeJS.ErrnoException) => err.code ?? err.message,
  );

/** How an MQTT CONNECT over the HTTP listener's WebSocket from `localAddress` ended. */
const wsConnectFrom = (localAddress: string, token: string) =>
  clientOutcome(
    mqtt.connect(cloud.wsUrl, {
      clientId: 'door',
      username: 'door',
      password: token,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      wsOptions: { localAddress },
    }),
  );

/** fogline_auth_failures_total{reason} from /metrics. */
async function authFailures(reason: string): Promise<number> {
  const text = await (await fetch(`${cloud.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`fogline_auth_failures_total{reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('an address over its failed-authentication budget', () => {
  it('is answered 429 and closed on a kept-alive connection, cut at accept on new ones, and back once its bucket refills', async () => {
    const { token } = await cloud.admin.createEdge('door');
    const wrong = () => generateSecret('fge_');
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      // Three wrong tokens on one kept-alive connection spend the budget.
      for (let i = 0; i < 3; i++) expect((await inferFrom(FLOODER, wrong(), keepAlive)).status).toBe(401);
      const refused = await inferFrom(FLOODER, wrong(), keepAlive);
      expect(refused).toMatchObject({ status: 429, connection: 'close' });
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
      await refused.closed; // the server ended that connection

      // New connections from the address are destroyed at accept: no answer at all, whatever they carry.
      const cutBefore = await authFailures('throttled-at-accept');
      expect(await outcome(inferFrom(FLOODER, token))).toBe('ECONNRESET');
      expect(await wsConnectFrom(FLOODER, token)).toBe('closed');
      expect(await authFailures('throttled-at-accept')).toBe(cutBefore + 2);
      const mqttCut = await connectMqtt(cloud.mqttUrl, 'door', token, { localAddress: FLOODER });
      expect(mqttCut).toMatchObject({ ok: false, message: 'connection closed before CONNACK' });
      expect(cloud.server.fabric.broker.stats().connectRefused['auth-throttled-at-accept']).toBe(1);

      // Meanwhile a valid client at another address is served on every listener.
      expect((await inferFrom(VALID, token)).status).toBe(200);
      expect(await wsConnectFrom(VALID, token)).toBe('connected');
      const valid = await connectMqtt(cloud.mqttUrl, 'door', token, { localAddress: VALID });
      expect(valid.ok).toBe(true);
      if (valid.ok) await valid.client.endAsync();

      // A failure forgiven, the address gets back in.
      await new Promise((r) =>
        setTimeout(r, cloud.server.fabric.broker.authThrottle.blockedFor(FLOODER) + 50),
      );
      expect((await inferFrom(FLOODER, token)).status).toBe(200);
    } finally {
      keepAlive.destroy();
    }
  });

  it('closes the connection of every 429, also of requests that waited for the checks before them', async () => {
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
    try {
      // Eight at once: three are checked (the budget), the others wait for them and are refused.
      const answers = await Promise.all(
        Array.from({ length: 8 }, () => inferFrom(OTHER_FLOODER, generateSecret('fge_'), keepAlive)),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([401, 401, 401, 429, 429, 429, 429, 429]);
      const refused = answers.filter((a) => a.status === 429);
      expect(refused.map((a) => a.connection)).toEqual(refused.map(() => 'close'));
      await Promise.all(refused.map((a) => a.closed));
    } finally {
      keepAlive.destroy();
    }
  });
});

/**
 * A keep-alive connection's proof (connection-proofs.ts) saves the credential check on its next
 * requests, and never outlives what it proved: on one real socket to the cloud, a key or an edge
 * revoked between two requests is refused on the second, and a wrong header is checked (and refused)
 * in full, whatever the connection proved before.
 */
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  binaryInferRequest,
  digits,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '../testing/cloud-fixture.ts';
import { ConnectionProofs, PROOF_TTL_MS } from './connection-proofs.ts';

describe('ConnectionProofs', () => {
  let now = 0;
  const clock = { now: () => now };
  const a = {};
  const b = {};

  it('answers who a connection proved, for the same header only, until the proof expires', () => {
    const proofs = new ConnectionProofs<string>(clock);
    proofs.prove(a, 'Bearer fgl_one', 'one');
    expect(proofs.proven(a, 'Bearer fgl_one')).toBe('one');
    expect(proofs.proven(a, 'Bearer fgl_two')).toBeUndefined(); // same length, another header
    expect(proofs.proven(a, 'Bearer fgl_one ')).toBeUndefined();
    expect(proofs.proven(b, 'Bearer fgl_one')).toBeUndefined(); // another connection
    now += PROOF_TTL_MS - 1;
    expect(proofs.proven(a, 'Bearer fgl_one')).toBe('one');
    now += 1;
    expect(proofs.proven(a, 'Bearer fgl_one')).toBeUndefined();
  });

  it('forgets one connection, or all of them', () => {
    const proofs = new ConnectionProofs<string>(clock);
    proofs.prove(a, 'x', 'one');
    proofs.prove(b, 'y', 'two');
    proofs.forget(a);
    expect(proofs.proven(a, 'x')).toBeUndefined();
    expect(proofs.proven(b, 'y')).toBe('two');
    proofs.forgetAll();
    expect(proofs.proven(b, 'y')).toBeUndefined();
  });
});

describe('a keep-alive connection to the cloud', () => {
  let cloud: RunningCloud;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const { body, headers } = binaryInferRequest(digits(1).images);

  /** One infer request on the agent's single socket: its status, and whether the socket was reused. */
  const infer = (authorization: string) =>
    new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
      const req = request(
        `${cloud.url}/v2/models/digits-tiny/infer`,
        { method: 'POST', agent, headers: { ...headers, authorization } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const admin = (method: string, path: string, json?: unknown) =>
    fetch(`${cloud.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${cloud.adminToken}` },
      body: json === undefined ? undefined : JSON.stringify(json),
    });

  beforeAll(async () => {
    cloud = await startCloud({
      modelsDir: makeModelRepo(['digits-tiny']),
      serving: { workers: 1, intraOpThreads: 1 },
    });
  });
  afterAll(async () => {
    agent.destroy();
    await cloud?.stop();
  });

  it('refuses a revoked API key on its next request', async () => {
    const key = `Bearer ${await cloud.createKey('kept-alive')}`;
    expect(await infer(key)).toEqual({ status: 200, reused: false });
    expect(await infer(key)).toEqual({ status: 200, reused: true });
    expect((await admin('DELETE', '/api/keys/kept-alive')).status).toBe(200);
    expect((await infer(key)).status).toBe(401);
  });

  it('refuses a revoked edge on its next request', async () => {
    const created = await admin('POST', '/api/edges', { id: 'kept-alive-edge' });
    const { token } = (await created.json()) as { token: string };
    const edge = `Bearer kept-alive-edge:${token}`;
    expect(await infer(edge)).toMatchObject({ status: 200 });
    expect(await infer(edge)).toEqual({ status: 200, reused: true });
    expect((await admin('DELETE', '/api/edges/kept-alive-edge')).status).toBe(200);
    expect((await infer(edge)).status).toBe(401);
  });

  it('checks another header in full, before and after its own proof', async () => {
    const key = `Bearer ${await cloud.createKey('switching')}`;
    const wrong = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(await infer(key)).toMatchObject({ status: 200 });
    expect(await infer(wrong)).toEqual({ status: 401, reused: true });
    expect(await infer(key)).toEqual({ status: 200, reused: true });
  });
});

/**
 * Two real CloudServers as replicas: one PostgreSQL database (a scratch one), one Redis (the
 * machine's, keys under names unique to this run). A client spreading its requests over both keeps
 * one rate limit, an API key revoked on A is refused by B at once (B had it cached), and an edge
 * polling replica B gets the desired state replica A published.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../store/scratch-database.ts';
import {
  binaryInferRequest,
  digits,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '../testing/cloud-fixture.ts';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const tag = randomBytes(3).toString('hex');
let scratch: ScratchDatabase;
let repo = '';
let a: RunningCloud;
let b: RunningCloud;

beforeAll(async () => {
  scratch = await createScratchDatabase();
  repo = makeModelRepo(['digits-tiny']);
  const options = { modelsDir: repo, databaseUrl: scratch.url, redisUrl: REDIS_URL };
  a = await startCloud(options);
  b = await startCloud(options);
}, 180_000);
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await scratch?.drop();
  rmSync(repo, { recursive: true, force: true });
});

const admin = (cloud: RunningCloud, path: string, body: object) =>
  fetch(`${cloud.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cloud.adminToken}` },
    body: JSON.stringify(body),
  }).then(async (res) => {
    expect(res.status).toBe(201);
    return (await res.json()) as { token: string };
  });

describe('two cloud replicas on one PostgreSQL and one Redis', { timeout: 120_000 }, () => {
  it('keep ONE rate limit for a client whose requests are spread over both', async () => {
    const key = await a.createKey(`spread-${tag}`, 0.01, 10);
    const { body, headers } = binaryInferRequest(digits(1).images);
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const replica = i % 2 === 0 ? a : b;
      const res = await fetch(`${replica.url}/v2/models/digits-tiny/infer`, {
        method: 'POST',
        headers: { ...headers, authorization: `Bearer ${key}` },
        body,
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  });

  it('serve an edge polling replica B the desired state replica A published', async () => {
    const edgeId = `edge-${tag}`;
    const { token } = await admin(a, '/api/edges', { id: edgeId });
    const poll = async (cloud: RunningCloud) => {
      const res = await fetch(`${cloud.url}/v2/fogline/edges/${edgeId}/desired`, {
        headers: { authorization: `Bearer ${edgeId}:${token}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as { version: number; devices: { id: string }[] };
    };
    const before = await poll(b);
    await admin(a, '/api/devices', { id: `dev-${tag}`, edge: edgeId });
    await expect
      .poll(async () => (await poll(b)).devices.map((d) => d.id), { timeout: 15_000 })
      .toEqual([`dev-${tag}`]);
    const fromB = await poll(b);
    expect(fromB.version).toBeGreaterThan(before.version);
    expect(fromB).toEqual(await poll(a));
  });

  it('refuse on B, at once, an API key revoked on A while B had it cached', async () => {
    const key = await a.createKey(`revoked-${tag}`, 100, 100);
    const { body, headers } = binaryInferRequest(digits(1).images);
    const inferOnB = async () => {
      const res = await fetch(`${b.url}/v2/models/digits-tiny/infer`, {
        method: 'POST',
        headers: { ...headers, authorization: `Bearer ${key}` },
        body,
      });
      await res.arrayBuffer();
      return res.status;
    };
    expect(await inferOnB()).toBe(200); // B has verified the key and caches it (60 s)
    const res = await fetch(`${a.url}/api/keys/revoked-${tag}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${a.adminToken}` },
    });
    expect(res.status).toBe(200);
    await expect.poll(inferOnB, { timeout: 5_000, interval: 100 }).toBe(401);
  });
});

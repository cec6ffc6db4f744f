/**
 * The deployment routes through `app.request` on a real CloudServer's app (PGlite, auth on): the
 * admin check, request validation at the boundary, and the HTTP reported state of an edge with no
 * session on the cloud broker (its own token only, its own id only, a malformed report refused).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushCommittedModel } from '../../testing/deployment-fixture.ts';
import { eventually, type FabricCloud, startFabricCloud } from '../../testing/fabric-fixture.ts';

let cloud: FabricCloud;
let admin = '';
const tokens: Record<string, string> = {};

beforeAll(async () => {
  cloud = await startFabricCloud();
  admin = cloud.ready.adminToken.token;
  await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 2);
  for (const id of ['http-a', 'http-b']) tokens[id] = (await cloud.admin.createEdge(id)).token;
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

const call = (method: string, path: string, body?: unknown, authorization = `Bearer ${admin}`) =>
  cloud.server.app.request(`http://localhost${path}`, {
    method,
    headers: { authorization, 'content-type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

const edgeAuth = (id: string) => `Bearer ${id}:${tokens[id]}`;

describe('deployment admin routes', () => {
  it('needs the admin token', async () => {
    expect((await call('GET', '/api/deployments', undefined, 'Bearer nope')).status).toBe(401);
    expect((await call('POST', '/api/deployments', {}, edgeAuth('http-a'))).status).toBe(401);
  });

  it.each([
    [{ version: 2, edges: ['http-a'] }, 'model'],
    [{ model: 'digits-mid', version: 0, edges: ['http-a'] }, 'version'],
    [{ model: 'digits-mid', version: 2, edges: [] }, 'edges'],
    [{ model: 'digits-mid', version: 2, edges: ['a b'] }, 'edges'],
    [{ model: 'digits-mid', version: 2, edges: 'some' }, 'edges'],
    [{ model: 'digits-mid', version: 2, edges: ['http-a'], canary: 0 }, 'canary'],
    [{ model: 'digits-mid', version: 2, edges: ['http-a'], canary: 10 }, 'canary'],
    [{ model: 'digits-mid', version: 2, edges: ['http-a'], canaryHealthyMs: -1 }, 'canaryHealthyMs'],
    [{ model: 'digits-mid', version: 2, edges: ['http-a'], canaryTimeoutMs: 0 }, 'canaryTimeoutMs'],
    [{ model: 'digits-mid', version: 2, edges: ['http-a'], gate: { maxDrop: 2 } }, 'gate.maxDrop'],
    [{ model: 'digits-mid', version: 2, edges: ['http-a'], gate: { minPaired: 0 } }, 'gate.minPaired'],
    [{ model: 'digits-mid', version: 2, edges: ['http-a'], device: { model: 'x' } }, 'device.version'],
  ])('refuses %j naming %s (400)', async (body, field) => {
    const res = await call('POST', '/api/deployments', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain(field);
  });

  it('refuses a body that is not JSON, and answers 404 for an unknown deployment', async () => {
    expect((await call('POST', '/api/deployments', '{nope')).status).toBe(400);
    expect((await call('GET', '/api/deployments/d-none')).status).toBe(404);
    expect((await call('POST', '/api/deployments/d-none/rollback')).status).toBe(404);
  });

  it('creates with the defaults (10 % canary, at least one edge; 60 s healthy; 600 s canary timeout; no gate), lists and shows it', async () => {
    const res = await call('POST', '/api/deployments', { model: 'digits-mid', version: 2, edges: 'all' });
    expect(res.status).toBe(201);
    const { deployment } = (await res.json()) as { deployment: Record<string, unknown> & { id: string } };
    expect(deployment).toMatchObject({
      canary: 0.1,
      canaryHealthyMs: 60_000,
      canaryTimeoutMs: 600_000,
      gate: null,
      edgesSelector: 'all',
    });
    const list = (await (await call('GET', '/api/deployments?model=digits-mid')).json()) as {
      deployments: { id: string }[];
    };
    expect(list.deployments[0]?.id).toBe(deployment.id);
    const shown = (await (await call('GET', `/api/deployments/${deployment.id}`)).json()) as {
      deployment: { edges: { edge: string; stage: string }[] };
    };
    expect(shown.deployment.edges.map((e) => [e.edge, e.stage])).toEqual([
      ['http-a', 'canary'],
      ['http-b', 'rest'],
    ]);
  });
});

describe('POST /v2/fogline/edges/{id}/reported', () => {
  it('takes an edge report over HTTP: the deployment shows its state and progress', async () => {
    const created = (await (
      await call('POST', '/api/deployments', { model: 'digits-mid', version: 2, edges: ['http-a'] })
    ).json()) as { deployment: { id: string; bytes: number } };
    const { id, bytes } = created.deployment;
    const deployment = {
      id,
      model: 'digits-mid',
      version: 2,
      state: 'downloading',
      receivedBytes: 7,
      totalBytes: bytes,
    };
    const res = await call(
      'POST',
      '/v2/fogline/edges/http-a/reported',
      { models: {}, deployment },
      edgeAuth('http-a'),
    );
    expect(res.status).toBe(204);
    await eventually(async () => {
      const seen = (await (await call('GET', `/api/deployments/${id}`)).json()) as {
        deployment: { edges: { state: string; receivedBytes: number | null }[] };
      };
      return (
        seen.deployment.edges[0]?.state === 'downloading' && seen.deployment.edges[0]?.receivedBytes === 7
      );
    });
  });

  it('refuses another edge, no credential, the admin token and a malformed report', async () => {
    const good = { models: {} };
    expect((await call('POST', '/v2/fogline/edges/http-b/reported', good, edgeAuth('http-a'))).status).toBe(
      403,
    );
    expect((await call('POST', '/v2/fogline/edges/http-a/reported', good, '')).status).toBe(401);
    expect((await call('POST', '/v2/fogline/edges/http-a/reported', good)).status).toBe(401);
    const bad = { deployment: { id: 'd-1', model: 'digits-mid', version: 2, state: 'exploded' } };
    const res = await call('POST', '/v2/fogline/edges/http-a/reported', bad, edgeAuth('http-a'));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('deployment.state');
    expect((await call('POST', '/v2/fogline/edges/http-a/reported', '[1]', edgeAuth('http-a'))).status).toBe(
      400,
    );
  });
});

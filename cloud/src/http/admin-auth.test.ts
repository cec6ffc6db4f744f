/**
 * The admin middleware guards every admin route of a real CloudServer's app (`app.request()`): each
 * route under /api and repository load/unload refuse a missing or wrong admin token with 401
 * UNAUTHENTICATED and let the right one through (the dashboard's sign-in, which takes the token in its
 * body, is the one /api route before the check). Under --no-auth only repository control opens.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeModelRepo, type RunningCloud, startCloud } from '../testing/cloud-fixture.ts';
import { REPOSITORY_CONTROL_PATHS } from './routes/repository.ts';

let secured: RunningCloud;
let open: RunningCloud;

beforeAll(async () => {
  const modelsDir = makeModelRepo(['digits-tiny']);
  [secured, open] = await Promise.all([
    startCloud({ modelsDir, serving: { workers: 1, intraOpThreads: 1 } }),
    startCloud({ modelsDir, serving: { workers: 1, intraOpThreads: 1 }, auth: false }),
  ]);
});
afterAll(async () => {
  await Promise.all([secured?.stop(), open?.stop()]);
});

/** The dashboard's sign-in: how a browser gets past the admin check, so not behind it (below). */
const SIGN_IN = 'POST /api/session';

/** Every admin route the app registers, with its parameters filled by a name that exists nowhere. */
function adminRoutes(app: Hono): { method: string; path: string }[] {
  const seen = new Set<string>();
  return app.routes
    .filter((r) => r.method !== 'ALL' && `${r.method} ${r.path}` !== SIGN_IN)
    .filter((r) => r.path.startsWith('/api/') || REPOSITORY_CONTROL_PATHS.includes(r.path))
    .map((r) => ({ method: r.method, path: r.path.replace(/:[A-Za-z]+/g, 'ghost') }))
    .filter((r) => !seen.has(`${r.method} ${r.path}`) && seen.add(`${r.method} ${r.path}`));
}

function send(cloud: RunningCloud, route: { method: string; path: string }, token?: string) {
  return cloud.server.app.request(`http://localhost${route.path}`, {
    method: route.method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
}

/** What a refusal looks like to the caller: the status, the challenge and the OIP error. */
async function refusal(res: Response) {
  const body = (await res.json()) as { error?: string };
  return { status: res.status, challenge: res.headers.get('www-authenticate'), error: body.error };
}

describe('admin middleware', () => {
  it('covers the key, edge and device admin API and repository control', () => {
    const routes = adminRoutes(secured.server.app).map((r) => `${r.method} ${r.path}`);
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /api/keys',
        'POST /api/keys',
        'DELETE /api/keys/ghost',
        'POST /api/edges',
        'GET /api/edges',
        'GET /api/edges/ghost',
        'DELETE /api/edges/ghost',
        'POST /api/devices',
        'GET /api/devices',
        'DELETE /api/devices/ghost',
        'POST /v2/repository/models/ghost/load',
        'POST /v2/repository/models/ghost/unload',
      ]),
    );
  });

  it('refuses every admin route without the admin token or with a wrong one, and admits the right one', async () => {
    for (const route of adminRoutes(secured.server.app)) {
      const what = `${route.method} ${route.path}`;
      expect(await refusal(await send(secured, route)), what).toEqual({
        status: 401,
        challenge: 'Bearer',
        error: expect.stringMatching(/^missing admin token/),
      });
      expect(await refusal(await send(secured, route, 'not-the-admin-token')), what).toEqual({
        status: 401,
        challenge: 'Bearer',
        error: 'invalid admin token',
      });
      expect((await send(secured, route, secured.adminToken)).status, what).not.toBe(401);
    }
  });

  it('lets only the admin token sign in to the dashboard', async () => {
    const signIn = (token: string) =>
      secured.server.app.request('http://localhost/api/session', {
        method: 'POST',
        headers: { origin: 'http://localhost' },
        body: JSON.stringify({ token }),
      });
    expect(await refusal(await signIn('not-the-admin-token'))).toEqual({
      status: 401,
      challenge: 'Bearer',
      error: 'invalid admin token',
    });
    expect((await signIn(secured.adminToken)).status).toBe(204);
  });

  it('under --no-auth leaves repository control open but still guards /api', async () => {
    for (const route of adminRoutes(open.server.app)) {
      const what = `${route.method} ${route.path}`;
      const res = await send(open, route);
      if (route.path.startsWith('/api/')) expect(res.status, what).toBe(401);
      else expect(res.status, what).toBe(404);
    }
  });
});

/**
 * Dashboard sign-in (docs/dashboard.md "Signing in"):
 *
 *   POST   /api/session  {"token": "<admin token>"}  → 204, Set-Cookie: fogline_session=…; HttpOnly;
 *                                                      SameSite=Strict; Path=/; Max-Age; Secure over TLS
 *                                                    → 401 {"error": "invalid admin token"}
 *   GET    /api/session  (cookie or bearer)          → {session: true when by cookie, ttlMs}
 *   DELETE /api/session  (cookie, same origin)       → 204, the session revoked and the cookie cleared
 *
 * POST is registered before the admin middleware (it is how one gets past it) and checks the origin
 * itself, so that no other site can sign a browser in. The token is read from the body only, never
 * from the URL, and never logged.
 */
import { FoglineError } from '@fogline/shared';
import type { Context, Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { adminTokenMatches } from '../auth/admin-token.ts';
import { checkSameOrigin } from '../http/admin-auth.ts';
import { readJson } from '../http/read-json.ts';
import { SESSION_COOKIE, type WebSessions } from './web-sessions.ts';

const SMALL_BODY = 4 * 1024;

const cookieOptions = (c: Context) =>
  ({
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    secure: new URL(c.req.url).protocol === 'https:',
  }) as const;

/** POST /api/session: mounted before the admin middleware. */
export function registerLoginRoute(app: Hono, adminToken: string, sessions: WebSessions): void {
  app.post('/api/session', async (c) => {
    checkSameOrigin(c);
    const body = await readJson(c, SMALL_BODY);
    if (typeof body.token !== 'string' || body.token === '') {
      throw new FoglineError('INVALID_ARG', '"token" (the admin token) is required', {
        details: { field: 'token' },
      });
    }
    if (!adminTokenMatches(body.token, adminToken))
      throw new FoglineError('UNAUTHENTICATED', 'invalid admin token');
    const session = sessions.create();
    setCookie(c, SESSION_COOKIE, session.id, {
      ...cookieOptions(c),
      maxAge: Math.floor(sessions.ttlMs / 1000),
    });
    return c.body(null, 204, { 'cache-control': 'no-store' });
  });
}

/** GET and DELETE /api/session: behind the admin middleware. */
export function registerSessionRoutes(app: Hono, sessions: WebSessions): void {
  app.get('/api/session', (c) => {
    const session = sessions.get(getCookie(c, SESSION_COOKIE));
    return c.json({ session: session !== undefined, ttlMs: sessions.ttlMs });
  });
  app.delete('/api/session', (c) => {
    sessions.revoke(getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
    return c.body(null, 204);
  });
}

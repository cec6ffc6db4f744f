/**
 * The admin check as middleware, mounted by createApp on /api/* and on repository control, like
 * Hono's `bearerAuth`. Two ways in:
 * - `Authorization: Bearer <admin token>` (CLI, scripts);
 * - the dashboard's session cookie (web/session-routes.ts), when sessions are on. A request that
 *   changes state (anything but GET/HEAD/OPTIONS) with the cookie must also come from the cloud's own
 *   origin (`Origin`, else `Sec-Fetch-Site: same-origin`), on top of the cookie's SameSite=Strict:
 *   no cross-site request can act with an operator's session.
 */
import { FoglineError } from '@fogline/shared';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { adminTokenMatches } from '../auth/admin-token.ts';
import { bearerToken } from '../auth/inference-guard.ts';
import { SESSION_COOKIE, type WebSessions } from '../web/web-sessions.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function adminAuth(adminToken: string, sessions?: WebSessions): MiddlewareHandler {
  return async (c, next) => {
    const authorization = c.req.header('authorization');
    if (authorization === undefined && sessions) {
      const session = sessions.get(getCookie(c, SESSION_COOKIE));
      if (session) {
        if (!SAFE_METHODS.has(c.req.method)) checkSameOrigin(c);
        await next();
        return;
      }
    }
    const presented = bearerToken(authorization);
    if (presented === undefined) {
      throw new FoglineError(
        'UNAUTHENTICATED',
        sessions
          ? 'missing admin token: send "Authorization: Bearer <admin token>", or sign in to the dashboard'
          : 'missing admin token: send "Authorization: Bearer <admin token>"',
      );
    }
    if (!adminTokenMatches(presented, adminToken))
      throw new FoglineError('UNAUTHENTICATED', 'invalid admin token');
    await next();
  };
}

/**
 * Refuses a request from another origin (CSRF): `Origin` must be this server's own origin; without
 * `Origin`, the browser's `Sec-Fetch-Site` must say same-origin.
 */
export function checkSameOrigin(c: Context): void {
  const origin = c.req.header('origin');
  const own = new URL(c.req.url).origin;
  if (origin !== undefined ? origin === own : c.req.header('sec-fetch-site') === 'same-origin') return;
  throw new FoglineError(
    'PERMISSION_DENIED',
    `cross-origin request refused: a dashboard session acts only from ${own} (origin ${origin ?? 'not sent'})`,
  );
}

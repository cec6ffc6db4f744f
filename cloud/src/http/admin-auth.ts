/**
 * The admin token check as middleware (`Authorization: Bearer <admin token>`), mounted by createApp
 * on /api/* and on repository control, like Hono's `bearerAuth`.
 */
import { FoglineError } from '@fogline/shared';
import type { MiddlewareHandler } from 'hono';
import { adminTokenMatches } from '../auth/admin-token.ts';
import { bearerToken } from '../auth/inference-guard.ts';

export function adminAuth(adminToken: string): MiddlewareHandler {
  return async (c, next) => {
    const presented = bearerToken(c.req.header('authorization'));
    if (presented === undefined) {
      throw new FoglineError(
        'UNAUTHENTICATED',
        'missing admin token: send "Authorization: Bearer <admin token>"',
      );
    }
    if (!adminTokenMatches(presented, adminToken))
      throw new FoglineError('UNAUTHENTICATED', 'invalid admin token');
    await next();
  };
}

/** The admin token check for /api/* and repository control (`Authorization: Bearer <admin token>`). */
import { FoglineError } from '@fogline/shared/errors';
import type { Context } from 'hono';
import { adminTokenMatches } from '../auth/admin-token.ts';
import { bearerToken } from '../auth/inference-guard.ts';

export function requireAdmin(c: Context, adminToken: string): void {
  const presented = bearerToken(c.req.header('authorization'));
  if (presented === undefined) {
    throw new FoglineError(
      'UNAUTHENTICATED',
      'missing admin token: send "Authorization: Bearer <admin token>"',
    );
  }
  if (!adminTokenMatches(presented, adminToken))
    throw new FoglineError('UNAUTHENTICATED', 'invalid admin token');
}

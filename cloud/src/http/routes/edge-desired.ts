/**
 * An edge's own desired state over HTTP (docs/cloud.md "Device-list sync over HTTP"), for edges with
 * no session on the cloud broker:
 *
 *   GET /v2/fogline/edges/{edgeId}/desired      Authorization: Bearer <edgeId>:<edge token>
 *     → 200 the JSON last published, retained, on `fogline/v1/edge/{edgeId}/desired` (same bytes,
 *           same `version`), `ETag: "<version>"`
 *     → 304 when `If-None-Match` names that version
 *
 * The credential and token bucket are the edge's, as on infer (edge-inference-guard.ts); API keys
 * are refused (401), and so is another edge's state (403 PERMISSION_DENIED). `--no-auth` does not
 * open it: the body holds device token hashes.
 */
import { FoglineError } from '@fogline/shared';
import type { Hono } from 'hono';
import type { PublishedDesiredState } from '../../fabric/desired-state-publisher.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { remoteAddress } from '../remote-address.ts';
import { nodeIncoming } from '../request-view.ts';

export const EDGE_DESIRED_PATH = '/v2/fogline/edges/:edgeId/desired';

export interface EdgeDesiredSource {
  /** The authenticated edge's id (edge-inference-guard.ts `authenticateEdge`). */
  authenticateEdge(authorization: string | undefined, source?: string): string | Promise<string>;
  /** What the edge's retained topic holds (DesiredStatePublisher `current`). */
  current(edgeId: string): Promise<PublishedDesiredState | undefined>;
}

/** The entity tag of a desired state: its version, quoted (RFC 9110 §8.8.3). */
export function desiredStateEtag(version: number): string {
  return `"${version}"`;
}

/** RFC 9110 §13.1.2: If-None-Match matches `*` or any listed tag, by weak comparison. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === etag);
}

export function registerEdgeDesiredRoutes(app: Hono, { edgeDesired: source }: CloudAppDeps): void {
  app.get(EDGE_DESIRED_PATH, async (c) => {
    const edgeId = await source.authenticateEdge(
      c.req.header('authorization'),
      remoteAddress(nodeIncoming(c)),
    );
    const requested = c.req.param('edgeId');
    if (requested !== edgeId) {
      throw new FoglineError(
        'PERMISSION_DENIED',
        `edge '${edgeId}' may read only its own desired state, not that of '${requested}'`,
      );
    }
    const state = await source.current(edgeId);
    if (!state) {
      throw new FoglineError('UNAVAILABLE', `the desired state of edge '${edgeId}' is not available; retry`);
    }
    const etag = desiredStateEtag(state.message.version);
    const headers = { etag, 'cache-control': 'private, no-cache' };
    if (noneMatch(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
    return c.body(state.payload, 200, { ...headers, 'content-type': 'application/json' });
  });
}

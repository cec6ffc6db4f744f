/**
 * Admin API for edge and device identities (admin token required, like /api/keys: createApp mounts
 * the admin middleware on every route under /api):
 *
 *   POST   /api/edges            {id}          → 201 {id, token, ...}   token shown only here
 *   GET    /api/edges                          → {edges: [{id, online, lastSeenAt, telemetry, ...}]}
 *   GET    /api/edges/{id}                     → {id, online, ...}
 *   DELETE /api/edges/{id}                     → the revoked edge; disconnected, its token refused
 *   POST   /api/devices          {id, edge?}   → 201 {id, edge, token, ...}   edge absent or null:
 *                                                 no edge, the device connects to the cloud broker
 *   GET    /api/devices[?edge=id]              → {devices: [{id, edge, createdAt, revokedAt}]}
 *                                                 (edge null for edgeless devices; ?edge=cloud lists them)
 *   DELETE /api/devices/{id}                   → the revoked device; its edge (or the cloud broker,
 *                                                 for an edgeless one) disconnects it
 *
 * Errors as everywhere: INVALID_ARG 400, NOT_FOUND 404, ALREADY_EXISTS 409 (`{"error": "..."}`).
 */
import { FoglineError } from '@fogline/shared';
import type { Hono } from 'hono';
import type { CloudAppDeps } from '../app-deps.ts';
import { readJson } from '../read-json.ts';

const SMALL_BODY = 64 * 1024;

function stringField(body: Record<string, unknown>, ...names: string[]): string {
  for (const name of names) {
    const value = body[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      throw new FoglineError('INVALID_ARG', `"${name}" must be a string`, { details: { field: name } });
    }
    return value;
  }
  throw new FoglineError('INVALID_ARG', `"${names[0]}" is required`, { details: { field: names[0] } });
}

/** An optional string field: absent or null → null. */
function optionalStringField(body: Record<string, unknown>, ...names: string[]): string | null {
  const present = names.find((name) => body[name] !== undefined && body[name] !== null);
  return present === undefined ? null : stringField(body, present);
}

export function registerAdminIdentityRoutes(app: Hono, { identities, audits }: CloudAppDeps): void {
  // Each edge with the cloud's drift checks on its audits (docs/field-accuracy.md), null before any.
  const withDrift = <E extends { id: string }>(edge: E) => ({
    ...edge,
    auditDrift: audits.drift?.(edge.id) ?? null,
  });
  app.post('/api/edges', async (c) => {
    const body = await readJson(c, SMALL_BODY);
    return c.json(await identities.createEdge(stringField(body, 'id')), 201);
  });
  app.get('/api/edges', async (c) => c.json({ edges: (await identities.listEdges()).map(withDrift) }));
  app.get('/api/edges/:id', async (c) => c.json(withDrift(await identities.getEdge(c.req.param('id')))));
  app.delete('/api/edges/:id', async (c) => c.json(await identities.revokeEdge(c.req.param('id'))));

  app.post('/api/devices', async (c) => {
    const body = await readJson(c, SMALL_BODY);
    const created = await identities.createDevice(
      stringField(body, 'id'),
      optionalStringField(body, 'edge', 'edgeId'),
      optionalStringField(body, 'standbyEdge', 'standbyEdgeId'),
    );
    return c.json(created, 201);
  });
  app.get('/api/devices', async (c) =>
    c.json({ devices: await identities.listDevices(c.req.query('edge')) }),
  );
  app.delete('/api/devices/:id', async (c) => c.json(await identities.revokeDevice(c.req.param('id'))));
}

/**
 * Field accuracy and policies over HTTP (admin; docs/cloud.md "Field accuracy and policies"):
 *
 *   GET    /api/field                         → { controller_leader, edges: [{ edge, online, drift_alarm, field, policy, ... }] }
 *   GET    /api/edges/{id}/field              → one edge's entry
 *   GET    /api/edges/{id}/policy             → { current, desired, pinned, conservative, reference_weak, last_decision, ... }
 *   GET    /api/edges/{id}/policy/changes?limit=<n>  → { changes: [...] } newest first
 *   PUT    /api/edges/{id}/policy             { device: {score, threshold}, edge: {score, threshold}, reason? } → set + pin
 *   DELETE /api/edges/{id}/policy/pin         → unpin (the controller takes over again)
 *   PUT    /api/edges/{id}/policy/audit-rate  { rate, reason? } → the operator's audit rate (policy view)
 *   DELETE /api/edges/{id}/policy/audit-rate  → cleared: back to the edge's own (policy view)
 */
import { FoglineError } from '@fogline/shared';
import type { Hono } from 'hono';
import { setAuditRate } from '../../controller/audit-rate-admin.ts';
import {
  changeView,
  edgeFieldView,
  fleetFieldView,
  type PolicyAdminDeps,
  pinPolicy,
  policyView,
  unpinPolicy,
} from '../../controller/policy-admin.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { readJson } from '../read-json.ts';

export type PolicyRouteDeps = PolicyAdminDeps;

export function registerFieldRoutes(app: Hono, { policies, maxBodyBytes }: CloudAppDeps): void {
  app.get('/api/field', async (c) => c.json(await fleetFieldView(policies)));
  app.get('/api/edges/:id/field', async (c) => {
    const id = c.req.param('id');
    await policies.store.edges.get(id);
    return c.json(await edgeFieldView(policies, id));
  });
  app.get('/api/edges/:id/policy', async (c) => c.json(await policyView(policies, c.req.param('id'))));
  app.get('/api/edges/:id/policy/changes', async (c) => {
    const id = c.req.param('id');
    await policies.store.edges.get(id);
    const raw = c.req.query('limit');
    const limit = raw === undefined ? undefined : Number(raw);
    if (limit !== undefined && !Number.isInteger(limit)) {
      throw new FoglineError('INVALID_ARG', `limit must be an integer, got '${String(raw).slice(0, 20)}'`);
    }
    const changes = await policies.store.edgePolicies.changes(id, limit);
    return c.json({ changes: changes.map(changeView) });
  });
  app.put('/api/edges/:id/policy', async (c) =>
    c.json(await pinPolicy(policies, c.req.param('id'), await readJson(c, maxBodyBytes))),
  );
  app.delete('/api/edges/:id/policy/pin', async (c) =>
    c.json(await unpinPolicy(policies, c.req.param('id'))),
  );
  app.put('/api/edges/:id/policy/audit-rate', async (c) => {
    await setAuditRate(policies, c.req.param('id'), await readJson(c, maxBodyBytes));
    return c.json(await policyView(policies, c.req.param('id')));
  });
  app.delete('/api/edges/:id/policy/audit-rate', async (c) => {
    await setAuditRate(policies, c.req.param('id'), null);
    return c.json(await policyView(policies, c.req.param('id')));
  });
}

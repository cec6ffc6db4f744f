/**
 * Model rollouts over HTTP (docs/cloud.md "Deployments"; docs/operations.md "Rollout"):
 *
 *   POST /api/deployments   { model, version, edges: [..] | "all", canary?, canaryHealthyMs?, canaryTimeoutMs?, gate?, device? }
 *                           → 201 { deployment }   (admin; deployment-request.ts)
 *   GET  /api/deployments[?model=N]                → { deployments } newest first
 *   GET  /api/deployments/{id}                     → { deployment } with `edges`: stage, state, progress, failure
 *   POST /api/deployments/{id}/rollback            → { rolledBack, rollbacks } (new deployments of the previous versions)
 *   POST /v2/fogline/edges/{edgeId}/reported       Authorization: Bearer <edgeId>:<edge token>
 *        body: the edge's reported state (as on `fogline/v1/edge/{id}/reported`) → 204
 *        for edges with no session on the cloud broker; a malformed `deployment` field is 400.
 */
import { FoglineError, readDeploymentReport } from '@fogline/shared';
import type { Hono } from 'hono';
import { readDeploymentRequest } from '../../deployments/deployment-request.ts';
import type { DeploymentService } from '../../deployments/deployment-service.ts';
import { deploymentView } from '../../deployments/deployment-view.ts';
import type { DeploymentRecord } from '../../store/index.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { readJson } from '../read-json.ts';

export const EDGE_REPORTED_PATH = '/v2/fogline/edges/:edgeId/reported';

export interface DeploymentRouteDeps {
  readonly service: Pick<DeploymentService, 'create' | 'detail' | 'rollback'>;
  readonly list: (model?: string) => Promise<DeploymentRecord[]>;
  /** The authenticated edge's id (edge-inference-guard.ts `authenticateEdge`). */
  authenticateEdge(authorization: string | undefined): string | Promise<string>;
  /** Hands a reported state to edge presence (which passes its deployment report on). */
  report(edgeId: string, reported: Record<string, unknown>): void;
}

export function registerDeploymentRoutes(app: Hono, { deployments, maxBodyBytes }: CloudAppDeps): void {
  app.post('/api/deployments', async (c) => {
    const request = readDeploymentRequest(await readJson(c, maxBodyBytes));
    const { deployment, edges } = await deployments.service.create(request);
    return c.json({ deployment: deploymentView(deployment, edges) }, 201);
  });

  app.get('/api/deployments', async (c) => {
    const list = await deployments.list(c.req.query('model'));
    return c.json({ deployments: list.map((d) => deploymentView(d)) });
  });

  app.get('/api/deployments/:id', async (c) => {
    const { deployment, edges } = await deployments.service.detail(c.req.param('id'));
    return c.json({ deployment: deploymentView(deployment, edges) });
  });

  app.post('/api/deployments/:id/rollback', async (c) => {
    const { rolledBack, rollbacks } = await deployments.service.rollback(c.req.param('id'));
    return c.json({
      rolledBack: deploymentView(rolledBack),
      rollbacks: rollbacks.map((d) => deploymentView(d)),
    });
  });

  app.post(EDGE_REPORTED_PATH, async (c) => {
    const edgeId = await deployments.authenticateEdge(c.req.header('authorization'));
    const requested = c.req.param('edgeId');
    if (requested !== edgeId) {
      throw new FoglineError(
        'PERMISSION_DENIED',
        `edge '${edgeId}' may report only its own state, not that of '${requested}'`,
      );
    }
    const body = await readJson(c, maxBodyBytes);
    if (body.deployment !== undefined) {
      const reading = readDeploymentReport(body.deployment);
      if (!reading.ok) throw new FoglineError('INVALID_ARG', reading.reason);
    }
    deployments.report(edgeId, body);
    return c.body(null, 204);
  });
}

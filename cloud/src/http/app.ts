/**
 * createApp(deps) builds the gateway's Hono app without listening: CloudServer serves it on a socket,
 * tests call `app.request()`. The admin check (token, or the dashboard's session cookie) is middleware
 * mounted here, before the routes; then one register function per endpoint family, the web pages
 * last. Every error, thrown from any route, leaves as OIP's `{"error": "..."}` with Triton's status
 * mapping.
 */
import { FoglineError } from '@fogline/shared';
import { Hono } from 'hono';
import { registerLoginRoute } from '../web/session-routes.ts';
import { registerWeb } from '../web/web-app.ts';
import { adminAuth } from './admin-auth.ts';
import type { CloudAppDeps } from './app-deps.ts';
import { errorResponse } from './error-response.ts';
import { registerAdminIdentityRoutes } from './routes/admin-identities.ts';
import { registerAdminKeyRoutes } from './routes/admin-keys.ts';
import { registerAuditRoutes } from './routes/audits.ts';
import { registerDeploymentRoutes } from './routes/deployments.ts';
import { registerEdgeDesiredRoutes } from './routes/edge-desired.ts';
import { registerExampleRoutes } from './routes/examples.ts';
import { registerFieldRoutes } from './routes/field.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerInferRoutes } from './routes/infer.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerModelStoreRoutes } from './routes/model-store.ts';
import { registerModelRoutes } from './routes/models.ts';
import { REPOSITORY_CONTROL_PATHS, registerRepositoryRoutes } from './routes/repository.ts';

export type { CloudAppDeps } from './app-deps.ts';

export function createApp(deps: CloudAppDeps): Hono {
  const app = new Hono();
  const admin = adminAuth(deps.adminToken, deps.web?.sessions);
  // Signing in is how a browser gets past the admin check: its route comes before it.
  if (deps.web) registerLoginRoute(app, deps.adminToken, deps.web.sessions);
  app.use('/api/*', admin);
  // Repository control is open with the inference guard (--no-auth), like inference itself.
  if (deps.guard.enabled) app.on('POST', [...REPOSITORY_CONTROL_PATHS], admin);

  registerHealthRoutes(app, deps);
  registerInferRoutes(app, deps);
  registerModelRoutes(app, deps);
  registerRepositoryRoutes(app, deps);
  registerMetricsRoute(app, deps);
  registerAdminKeyRoutes(app, deps);
  registerAdminIdentityRoutes(app, deps);
  registerEdgeDesiredRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerFieldRoutes(app, deps);
  if (deps.web) registerWeb(app, deps.web);
  registerModelStoreRoutes(app, deps);
  registerExampleRoutes(app, deps);
  registerDeploymentRoutes(app, deps);
  app.notFound((c) =>
    errorResponse(new FoglineError('NOT_FOUND', `no endpoint ${c.req.method} ${c.req.path}`)),
  );
  app.onError((err) => errorResponse(err, deps.log));
  return app;
}

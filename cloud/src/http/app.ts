/**
 * createApp(deps) builds the gateway's Hono app without listening: CloudServer serves it on a socket,
 * tests call `app.request()`. One register function per endpoint family; every error, thrown from any
 * route, leaves as OIP's `{"error": "..."}` with Triton's status mapping.
 */
import { FoglineError } from '@fogline/shared/errors';
import { Hono } from 'hono';
import type { CloudAppDeps } from './app-deps.ts';
import { errorResponse } from './error-response.ts';
import { registerAdminKeyRoutes } from './routes/admin-keys.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerInferRoutes } from './routes/infer.ts';
import { registerMetricsRoute } from './routes/metrics.ts';
import { registerModelRoutes } from './routes/models.ts';
import { registerRepositoryRoutes } from './routes/repository.ts';

export type { CloudAppDeps } from './app-deps.ts';

export function createApp(deps: CloudAppDeps): Hono {
  const app = new Hono();
  registerHealthRoutes(app, deps);
  registerInferRoutes(app, deps);
  registerModelRoutes(app, deps);
  registerRepositoryRoutes(app, deps);
  registerMetricsRoute(app, deps);
  registerAdminKeyRoutes(app, deps);
  for (const register of deps.extraRoutes ?? []) register(app, deps);
  app.notFound((c) =>
    errorResponse(new FoglineError('NOT_FOUND', `no endpoint ${c.req.method} ${c.req.path}`)),
  );
  app.onError((err) => errorResponse(err, deps.log));
  return app;
}

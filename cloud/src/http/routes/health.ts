/** OIP health and server metadata: `GET /v2/health/live`, `GET /v2/health/ready`, `GET /v2`. */
import type { Hono } from 'hono';
import type { CloudAppDeps } from '../app-deps.ts';

/** Triton extensions this server implements, as listed by `GET /v2`. */
export const EXTENSIONS = [
  'binary_tensor_data',
  'model_configuration',
  'model_repository',
  'statistics',
] as const;

export function registerHealthRoutes(app: Hono, deps: CloudAppDeps): void {
  // OIP: the status code is the answer; the body repeats it.
  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => {
    const ready = deps.models.ready;
    return c.json({ ready }, ready ? 200 : 503);
  });
  // OIP: `$metadata_server_response`.
  app.get('/v2', (c) =>
    c.json({ name: deps.serverName, version: deps.serverVersion, extensions: [...EXTENSIONS] }),
  );
}

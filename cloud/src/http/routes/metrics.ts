/** Prometheus text exposition at `GET /metrics`. */
import type { Hono } from 'hono';
import type { CloudAppDeps } from '../app-deps.ts';

export function registerMetricsRoute(app: Hono, deps: CloudAppDeps): void {
  app.get('/metrics', async (c) => {
    const { contentType, body } = await deps.metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });
}

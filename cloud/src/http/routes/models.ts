/**
 * OIP model metadata and readiness, Triton's statistics extension and its model configuration:
 * `GET /v2/models/{m}[/versions/{v}]`, `.../ready`, `.../stats`, `.../config`, and
 * `GET /v2/models/stats` for all.
 */
import { fromUnknown } from '@fogline/shared';
import type { Context, Hono } from 'hono';
import { modelMetadata, modelStatistics } from '../../serving/model-views.ts';
import { tritonModelConfig } from '../../serving/triton-config.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { parseVersion } from './params.ts';

export function registerModelRoutes(app: Hono, deps: CloudAppDeps): void {
  const resolve = (c: Context) =>
    deps.models.resolve(c.req.param('model')!, parseVersion(c.req.param('version')));

  for (const base of ['/v2/models/:model', '/v2/models/:model/versions/:version']) {
    app.get(base, (c) => {
      // `GET /v2/models/stats` (all models) is served here rather than as a route of its own: a
      // static path overlapping `/v2/models/:model` would keep Hono off its RegExpRouter, and with it
      // every request, inference included, would be matched by the slower TrieRouter.
      if (base === '/v2/models/:model' && c.req.param('model') === 'stats') {
        return c.json({ model_stats: deps.models.instances().map(modelStatistics) });
      }
      return c.json(modelMetadata(resolve(c)));
    });
    app.get(`${base}/stats`, (c) => c.json({ model_stats: [modelStatistics(resolve(c))] }));
    // Triton: the model configuration in its JSON form (tritonclient's `get_model_config`).
    app.get(`${base}/config`, (c) => c.json(tritonModelConfig(resolve(c))));
    // OIP: `$model_ready_response`; 200 when ready, otherwise the reason's status (404 / 503).
    app.get(`${base}/ready`, (c) => {
      const name = c.req.param('model')!;
      try {
        resolve(c);
        return c.json({ name, ready: true });
      } catch (err) {
        const e = fromUnknown(err);
        if (e.code !== 'UNAVAILABLE') throw e;
        return c.json({ name, ready: false, error: e.message }, 503);
      }
    });
  }
}

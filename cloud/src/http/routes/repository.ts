/**
 * Triton model repository extension: `POST /v2/repository/index`, `POST /v2/repository/models/{m}/load`
 * and `.../unload`. Load rereads config.json and loads the newest version; the old version serves
 * until the new one is warm. Load and unload need the admin token unless the server runs --no-auth
 * (createApp mounts that check on REPOSITORY_CONTROL_PATHS).
 */
import type { Hono } from 'hono';
import { checkModelName } from '../../serving/model-server.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { readJson } from '../read-json.ts';

const SMALL_BODY = 64 * 1024;

const LOAD_PATH = '/v2/repository/models/:model/load';
const UNLOAD_PATH = '/v2/repository/models/:model/unload';
/** The routes that change what is served. */
export const REPOSITORY_CONTROL_PATHS: readonly string[] = [LOAD_PATH, UNLOAD_PATH];

export function registerRepositoryRoutes(app: Hono, deps: CloudAppDeps): void {
  // Triton: body `{"ready": true}` lists only ready models.
  app.post('/v2/repository/index', async (c) => {
    const body = await readJson(c, SMALL_BODY);
    const index = await deps.models.index();
    return c.json(body.ready === true ? index.filter((m) => m.state === 'READY') : index);
  });

  app.post(LOAD_PATH, async (c) => {
    await readJson(c, SMALL_BODY);
    const name = c.req.param('model');
    checkModelName(name);
    await deps.models.load(name);
    return c.json({});
  });

  app.post(UNLOAD_PATH, async (c) => {
    await readJson(c, SMALL_BODY);
    await deps.models.unload(c.req.param('model'));
    return c.json({});
  });
}

/**
 * Triton model repository extension: `POST /v2/repository/index`, `POST /v2/repository/models/{m}/load`
 * and `.../unload`. Load rereads config.json and loads the newest version; the old version serves
 * until the new one is warm. A load body `{"parameters": {"config": "<JSON text>"}}` (tritonclient's
 * `load_model(config=...)`) overrides config.json for that load (serving/triton-config.ts), or is
 * refused with 400 and the reason. Load and unload need the admin token unless the server runs
 * --no-auth (createApp mounts that check on REPOSITORY_CONTROL_PATHS).
 */
import { FoglineError } from '@fogline/shared';
import type { Hono } from 'hono';
import { checkModelName } from '../../serving/model-server.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { readJson } from '../read-json.ts';

const SMALL_BODY = 64 * 1024;
/** A load request carries a whole model config as text. */
const LOAD_BODY = 1024 * 1024;
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
    const body = await readJson(c, LOAD_BODY);
    const name = c.req.param('model');
    checkModelName(name);
    await deps.models.load(name, loadOverride(body));
    return c.json({});
  });
  app.post(UNLOAD_PATH, async (c) => {
    await readJson(c, SMALL_BODY);
    await deps.models.unload(c.req.param('model'));
    return c.json({});
  });
}

/**
 * The config override of a load request, parsed; undefined when there is none. Triton's other load
 * parameters (`file:<path>`, model files sent inline) are refused: fogline loads model files from
 * its repository only.
 */
function loadOverride(body: Record<string, unknown>): unknown {
  const params = body.parameters;
  if (params === undefined) return undefined;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new FoglineError('INVALID_ARG', 'load request: "parameters" must be an object');
  }
  let override: unknown;
  for (const [key, value] of Object.entries(params as Record<string, unknown>)) {
    if (key !== 'config') {
      throw new FoglineError(
        'INVALID_ARG',
        `load request: parameter "${key.slice(0, 100)}" is not supported (fogline loads model files from its repository; only "config" may be given)`,
      );
    }
    if (typeof value !== 'string') {
      throw new FoglineError('INVALID_ARG', 'load request: parameter "config" must be a string of JSON text');
    }
    try {
      override = JSON.parse(value);
    } catch (cause) {
      throw new FoglineError('INVALID_ARG', `load request: parameter "config" is not valid JSON`, { cause });
    }
  }
  return override;
}

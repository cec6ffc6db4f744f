/**
 * Admin API for API keys (admin token required: createApp mounts it on /api/*): `GET /api/keys`, `POST /api/keys`
 * `{name, ratePerSec, burst}` → 201 `{name, key, ...}` (the key is shown only here), and
 * `DELETE /api/keys/{name}`, effective on the key's next request.
 */
import type { Hono } from 'hono';
import type { ApiKeyRecord } from '../../store/index.ts';
import type { CloudAppDeps } from '../app-deps.ts';
import { readJson } from '../read-json.ts';

const SMALL_BODY = 64 * 1024;

/** A key record as the admin API shows it (never the secret or its hash). */
export function keyView(record: ApiKeyRecord) {
  return {
    name: record.name,
    keyPrefix: record.keyPrefix,
    ratePerSec: record.ratePerSec,
    burst: record.burst,
    createdAt: record.createdAt.toISOString(),
    revokedAt: record.revokedAt ? record.revokedAt.toISOString() : null,
  };
}

export function registerAdminKeyRoutes(app: Hono, deps: CloudAppDeps): void {
  app.get('/api/keys', async (c) => c.json({ keys: (await deps.apiKeys.list()).map(keyView) }));

  app.post('/api/keys', async (c) => {
    const body = await readJson(c, SMALL_BODY);
    // `rate` is accepted as a short alias of `ratePerSec` (the CLI flag's name).
    const ratePerSec = body.ratePerSec ?? body.rate;
    const { record, key } = await deps.apiKeys.create({
      name: body.name as string,
      ratePerSec: ratePerSec as number,
      burst: body.burst as number,
    });
    return c.json({ ...keyView(record), key }, 201);
  });

  app.delete('/api/keys/:name', async (c) => {
    const record = await deps.apiKeys.revoke(c.req.param('name'));
    deps.guard.revoked(record.name);
    return c.json(keyView(record));
  });
}

/** Everything the HTTP app needs, built by CloudServer (or by a test) and passed to createApp. */
import type { FoglineError } from '@fogline/shared/errors';
import type { Hono } from 'hono';
import type { InferenceGuard } from '../auth/inference-guard.ts';
import type { CloudMetrics } from '../metrics/cloud-metrics.ts';
import type { ModelServer } from '../serving/model-server.ts';
import type { ApiKeyRepository } from '../store/index.ts';

export interface CloudAppDeps {
  models: ModelServer;
  /** Bearer API key + token bucket on infer; `openInferenceGuard()` for --no-auth. */
  guard: InferenceGuard;
  /** Guards /api/* and repository load/unload. */
  adminToken: string;
  apiKeys: ApiKeyRepository;
  metrics: CloudMetrics;
  /** Request bodies past this many bytes get 413. */
  maxBodyBytes: number;
  /** `GET /v2` server metadata. */
  serverName: string;
  serverVersion: string;
  /** Unexpected (INTERNAL) failures are reported here. */
  log?: (err: FoglineError) => void;
  /**
   * More endpoint families (e.g. F3's /api/edges and /api/devices), registered after the built-in
   * ones and before the 404 fallback. `/api/*` already requires the admin token.
   */
  extraRoutes?: readonly ((app: Hono, deps: CloudAppDeps) => void)[];
}

/** Everything the HTTP app needs, built by CloudServer (or by a test) and passed to createApp. */
import type { FoglineError } from '@fogline/shared';
import type { InferenceGuard } from '../auth/inference-guard.ts';
import type { IdentityService } from '../identities/identity-service.ts';
import type { CloudMetrics } from '../metrics/cloud-metrics.ts';
import type { ModelServer } from '../serving/model-server.ts';
import type { ApiKeyRepository } from '../store/index.ts';
import type { WebAppDeps } from '../web/web-app.ts';
import type { AuditRouteDeps } from './routes/audits.ts';
import type { DeploymentRouteDeps } from './routes/deployments.ts';
import type { EdgeDesiredSource } from './routes/edge-desired.ts';
import type { PolicyRouteDeps } from './routes/field.ts';
import type { ModelStoreRouteDeps } from './routes/model-store.ts';

export interface CloudAppDeps {
  models: ModelServer;
  /** Bearer API key + token bucket on infer; `openInferenceGuard()` for --no-auth. */
  guard: InferenceGuard;
  /** Guards /api/* always, and repository load/unload unless the guard is open (--no-auth). */
  adminToken: string;
  apiKeys: ApiKeyRepository;
  /** Edge and device identities behind /api/edges and /api/devices. */
  identities: IdentityService;
  /** The edge credential check and the retained desired states behind `GET .../desired`. */
  edgeDesired: EdgeDesiredSource;
  /** Audit upload from edges, and the records behind the admin API. */
  audits: AuditRouteDeps;
  /** Field accuracy, the controller's decisions, operator pins behind /api/field and /api/edges/{id}/policy. */
  policies: PolicyRouteDeps;
  /** Pushed model versions (admin) and their files (edges and admin). */
  modelStore: ModelStoreRouteDeps;
  /** Model rollouts (admin) and the edges' HTTP reported state. */
  deployments: DeploymentRouteDeps;
  metrics: CloudMetrics;
  /** Request bodies past this many bytes get 413. */
  maxBodyBytes: number;
  /** `GET /v2` server metadata. */
  serverName: string;
  serverVersion: string;
  /** Dashboard sessions, live stream, pages and playground (docs/dashboard.md); none without. */
  web?: WebAppDeps;
  /** Unexpected (INTERNAL) failures are reported here. */
  log?: (err: FoglineError) => void;
  /** The request log (`--log-requests`): one line per infer request (request-log.ts); none without. */
  logRequest?: (line: string) => void;
}

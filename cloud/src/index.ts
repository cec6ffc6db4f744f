/**
 * @fogline/cloud: the cloud tier: the OIP gateway (Hono), the cloud broker for edges, and the control
 * plane (drizzle-orm on PGlite or PostgreSQL). Test support: '@fogline/cloud/testing'.
 */
export {
  type AdminTarget,
  type AuditRateBody,
  type AuditRateView,
  CloudAdminClient,
  type DeployBody,
  type DeploymentEdgeView,
  type DeploymentView,
  type DeviceView,
  type EdgeFieldView,
  type EdgeView,
  type ExamplePageView,
  type ExampleView,
  type FleetFieldView,
  type KeyView,
  type ModelVersionView,
  type PinBody,
  type PolicyChangeView,
  type PolicyView,
  readCloudState,
  resolveAdminTarget,
  type StageView,
  type TierFieldView,
} from './admin-client.ts';
export { DEFAULT_LOW_SCORE, realInput } from './audits/hard-examples.ts';
export { ADMIN_TOKEN_FILE, adminTokenPath, readAdminToken } from './auth/admin-token.ts';
export {
  type BackupResult,
  backupDataDir,
  type RestoreOptions,
  type RestoreResult,
  restoreDataDir,
} from './backup/data-dir-backup.ts';
export {
  CLOUD_RULES,
  type CloudOptions,
  DEFAULT_CLOUD_OPTIONS,
  resolveCloudOptions,
} from './cloud-options.ts';
export { type CloudReady, CloudServer } from './cloud-server.ts';
export { brokerEngines } from './cluster/broker-engines.ts';
export { type Cluster, openCluster } from './cluster/cluster.ts';
export { DEPLOYMENT_DEFAULTS } from './deployments/deployment-request.ts';
export { createApp } from './http/app.ts';
export type { CloudAppDeps } from './http/app-deps.ts';
export { ModelServer } from './serving/model-server.ts';
export type { ModelStatistics } from './serving/model-views.ts';
export { DEFAULT_INLINE_MAX_MS, SERVING_RULES, type ServingOptions } from './serving/serving-options.ts';
export { CLOUD_STATE_FILE, type CloudState } from './state-file.ts';
export { DEFAULT_DATA_DIR, type OpenStoreOptions, openStore, type Store } from './store/index.ts';
export { NAME_PATTERN, NAME_RULE } from './store/validation.ts';
export { DEMO_TOKEN } from './web/demo-playground.ts';
export { WEB_BUILD_COMMAND } from './web/web-pages.ts';

/** @fogline/cloud: the cloud tier (OIP gateway; F3 adds the upstream MQTT broker). */
export { ADMIN_TOKEN_FILE, adminTokenPath, readAdminToken } from './auth/admin-token.ts';
export { type CloudOptions, DEFAULT_CLOUD_OPTIONS, resolveCloudOptions } from './cloud-options.ts';
export { CLOUD_STATE_FILE, type CloudReady, CloudServer, type CloudState } from './cloud-server.ts';
export { createApp } from './http/app.ts';
export type { CloudAppDeps } from './http/app-deps.ts';
export { ModelServer } from './serving/model-server.ts';
export type { ServingOptions } from './serving/serving-options.ts';

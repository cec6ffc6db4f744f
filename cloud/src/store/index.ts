/** Control-plane store: `openStore()` and the Store contract. */
export { API_KEY_PREFIX, isApiKeyShaped } from './api-keys.ts';
export type { WallClock } from './database.ts';
export { DEPLOYMENT_STATUSES } from './deployment-records.ts';
export { DEVICE_TOKEN_PREFIX } from './devices.ts';
export { createStore, type StoreConnection } from './drizzle-store.ts';
export { EDGE_TOKEN_PREFIX } from './edges.ts';
export { DEFAULT_DATA_DIR, type OpenStoreOptions, openStore, openStoreConnection } from './open-store.ts';
export type * from './store.ts';
export { NAME_PATTERN } from './validation.ts';

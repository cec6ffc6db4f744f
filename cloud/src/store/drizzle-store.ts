/** Builds the Store contract on any drizzle Postgres-dialect database (PGlite or node-postgres). */
import { createApiKeyRepository } from './api-keys.ts';
import { createAuditRecordRepository } from './audit-records.ts';
import { type StoreDatabase, systemWallClock, type WallClock } from './database.ts';
import { createDeploymentRepository } from './deployments.ts';
import { createDeviceRepository } from './devices.ts';
import { createEdgePolicyRepository } from './edge-policies.ts';
import { createEdgeRepository } from './edges.ts';
import { createLeaseRepository } from './leases.ts';
import { createModelVersionRepository } from './model-versions.ts';
import type { Store } from './store.ts';
import { guardRepository } from './store-unavailable.ts';

/** An open, migrated database and how to release it; produced by the driver adapters. */
export interface StoreConnection {
  readonly db: StoreDatabase;
  readonly driver: Store['driver'];
  close(): Promise<void>;
}

export function createStore(connection: StoreConnection, wallClock: WallClock = systemWallClock): Store {
  const { db } = connection;
  let closing: Promise<void> | undefined;
  return {
    // A lost database answers UNAVAILABLE from every repository (store-unavailable.ts).
    apiKeys: guardRepository(createApiKeyRepository(db, wallClock)),
    edges: guardRepository(createEdgeRepository(db, wallClock)),
    devices: guardRepository(createDeviceRepository(db, wallClock)),
    modelVersions: guardRepository(createModelVersionRepository(db, wallClock)),
    auditRecords: guardRepository(createAuditRecordRepository(db, wallClock)),
    edgePolicies: guardRepository(createEdgePolicyRepository(db, wallClock)),
    leases: guardRepository(createLeaseRepository(db)),
    deployments: guardRepository(createDeploymentRepository(db, wallClock)),
    driver: connection.driver,
    close() {
      // Idempotent: shutdown paths may race (signal handler + test teardown).
      closing ??= connection.close();
      return closing;
    },
  };
}

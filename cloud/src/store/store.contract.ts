/**
 * The Store contract suite (pattern: MQTT.js abstract_store): every backend must pass it unchanged.
 * `open` must return a connection to the SAME database on every call (the suite closes and re-opens it).
 * One database is shared by the whole suite (PGlite starts in ~1 s); tests use unique names instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeApiKeyContract } from './api-keys.contract.ts';
import { describeAuditRecordContract } from './audit-records.contract.ts';
import { type StoreUnderTest, steppingWallClock, unique } from './contract-support.ts';
import { describeDeploymentContract } from './deployments.contract.ts';
import { describeDeviceContract } from './devices.contract.ts';
import { createStore, type StoreConnection } from './drizzle-store.ts';
import { describeEdgePolicyContract } from './edge-policies.contract.ts';
import { describeEdgeContract } from './edges.contract.ts';
import { describeLeaseContract } from './leases.contract.ts';
import { MIGRATIONS_FOLDER } from './migrations.ts';
import { describeModelVersionContract } from './model-versions.contract.ts';
import type { Store } from './store.ts';

export function describeStoreContract(name: string, open: () => Promise<StoreConnection>): void {
  describe(`Store contract: ${name}`, () => {
    let connection: StoreConnection;
    let store: Store;
    const sut: StoreUnderTest = {
      get store() {
        return store;
      },
      get connection() {
        return connection;
      },
    };

    beforeAll(async () => {
      connection = await open();
      store = createStore(connection, steppingWallClock());
    });
    afterAll(async () => {
      await store?.close();
    });

    describeApiKeyContract(sut);
    describeEdgeContract(sut);
    describeDeviceContract(sut);
    describeModelVersionContract(sut);
    describeEdgePolicyContract(sut);
    describeLeaseContract(sut);
    describeAuditRecordContract(sut);
    describeDeploymentContract(sut);

    describe('lifecycle', () => {
      it('data survives close and reopen; reopening applies no migration twice', async () => {
        const key = await store.apiKeys.create({ name: unique('key'), ratePerSec: 1, burst: 1 });
        const edge = await store.edges.create(unique('edge'));
        const device = await store.devices.create(unique('dev'), edge.record.id);
        const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'));

        await store.close();
        await store.close(); // idempotent
        connection = await open();
        store = createStore(connection, steppingWallClock());

        expect(await store.apiKeys.verify(key.key)).toEqual(key.record);
        expect(await store.edges.verify(edge.record.id, edge.token)).toEqual(edge.record);
        expect(await store.devices.verify(device.record.id, device.token)).toEqual(device.record);
        const applied = await connection.db.execute(sql`select hash from drizzle.__drizzle_migrations`);
        expect((applied as unknown as { rows: unknown[] }).rows).toHaveLength(journal.entries.length);
      });
    });
  });
}

/** Runs the Store contract against both backends: embedded PGlite and the real PostgreSQL. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { openPgliteConnection } from './pglite-connection.ts';
import { openPostgresConnection } from './postgres-connection.ts';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.ts';
import { describeStoreContract } from './store.contract.ts';

describe('PGlite (embedded, fresh data dir)', () => {
  let dataDir = '';
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fogline-store-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
  describeStoreContract('pglite', () => openPgliteConnection(dataDir));
});

describe('PostgreSQL (127.0.0.1:5432, scratch database)', () => {
  let scratch: ScratchDatabase | undefined;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
  });
  afterAll(async () => {
    await scratch?.drop();
  });
  describeStoreContract('postgres', () => {
    if (!scratch)
      throw new Error('scratch PostgreSQL database was not created (see the beforeAll error above)');
    return openPostgresConnection(scratch.url);
  });
});

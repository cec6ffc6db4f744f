/** Embedded default: PGlite (Postgres in WASM) persisted under `<dataDir>/pglite`. Single process only. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { FoglineError } from '@fogline/shared';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { StoreConnection } from './drizzle-store.ts';
import { MIGRATIONS_FOLDER } from './migrations.ts';
import { schema } from './schema.ts';

/** `dataDir` holds fogline's state; the database files go in its `pglite/` subdirectory. */
export async function openPgliteConnection(dataDir: string): Promise<StoreConnection> {
  const databaseDir = join(dataDir, 'pglite');
  let client: PGlite;
  try {
    await mkdir(databaseDir, { recursive: true });
    client = await PGlite.create(databaseDir);
  } catch (cause) {
    throw new FoglineError('UNAVAILABLE', `cannot open the embedded database in ${databaseDir}`, {
      cause,
      details: { dataDir },
    });
  }
  const db = drizzle({ client, schema });
  try {
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  } catch (cause) {
    await client.close().catch(() => {});
    throw new FoglineError('INTERNAL', `migrating the embedded database in ${databaseDir} failed`, { cause });
  }
  return { db, driver: 'pglite', close: () => client.close() };
}

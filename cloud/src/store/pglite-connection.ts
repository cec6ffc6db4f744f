/** Embedded default: PGlite (Postgres in WASM) persisted under `<dataDir>/pglite`. Single process only. */
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { FoglineError } from '@fogline/shared';
import { mkdirPrivate, tightenTree } from '@fogline/shared/storage';
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
    await mkdirPrivate(databaseDir);
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
  // PGlite writes its files 0666 whatever the umask: take others' bits off once it has made them, and
  // again at close for those it made since (its 0700 directories keep those out of reach meanwhile).
  await tightenTree(databaseDir);
  return {
    db,
    driver: 'pglite',
    close: async () => {
      await client.close();
      await tightenTree(databaseDir);
    },
  };
}

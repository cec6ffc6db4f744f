/**
 * Opens the control-plane store (DESIGN: Persistence and control plane): embedded PGlite in the data
 * dir by default, PostgreSQL when a `postgres://` URL is given (option or `DATABASE_URL`).
 * Migrations are applied on open; re-opening an up-to-date database applies nothing.
 */
import { resolve } from 'node:path';
import { FoglineError } from '@fogline/shared';
import type { WallClock } from './database.ts';
import { createStore, type StoreConnection } from './drizzle-store.ts';
import { openPgliteConnection } from './pglite-connection.ts';
import { openPostgresConnection, type PostgresConnectionOptions, redactUrl } from './postgres-connection.ts';
import type { Store } from './store.ts';

export const DEFAULT_DATA_DIR = '.fogline';

export interface OpenStoreOptions {
  /** fogline's state directory, created if missing; PGlite files go in `<dataDir>/pglite`. Default `.fogline`. */
  readonly dataDir?: string;
  /** `postgres://` or `postgresql://` URL; when absent, `env.DATABASE_URL`; when both absent, PGlite. */
  readonly databaseUrl?: string;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Wall-clock time for stored timestamps; default `new Date()`. */
  readonly wallClock?: WallClock;
  readonly postgres?: PostgresConnectionOptions;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** Opens (and migrates) the database the options point at, without wrapping it in a Store. */
export async function openStoreConnection(options: OpenStoreOptions = {}): Promise<StoreConnection> {
  const env = options.env ?? process.env;
  const databaseUrl = options.databaseUrl ?? (env.DATABASE_URL || undefined);
  if (databaseUrl !== undefined) {
    if (typeof databaseUrl !== 'string' || !POSTGRES_URL.test(databaseUrl)) {
      throw new FoglineError('INVALID_ARG', `database URL must start with postgres:// or postgresql://`, {
        details: { databaseUrl: typeof databaseUrl === 'string' ? redactUrl(databaseUrl) : databaseUrl },
      });
    }
    return openPostgresConnection(databaseUrl, options.postgres);
  }
  return openPgliteConnection(resolve(options.dataDir ?? DEFAULT_DATA_DIR));
}

export async function openStore(options: OpenStoreOptions = {}): Promise<Store> {
  return createStore(await openStoreConnection(options), options.wallClock);
}

/** PostgreSQL through a node-postgres Pool (`DATABASE_URL=postgres://...`): for replicas and production. */
import { FoglineError } from '@fogline/shared';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import type { StoreConnection } from './drizzle-store.ts';
import { MIGRATION_LOCK_KEY, MIGRATIONS_FOLDER } from './migrations.ts';
import { schema } from './schema.ts';

export interface PostgresConnectionOptions {
  readonly maxConnections?: number;
  readonly connectTimeoutMs?: number;
  /** Errors of idle pooled connections (server restart, network); the pool replaces them. */
  readonly onPoolError?: (err: Error) => void;
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable database URL>';
  }
}

export async function openPostgresConnection(
  databaseUrl: string,
  options: PostgresConnectionOptions = {},
): Promise<StoreConnection> {
  const where = redactUrl(databaseUrl);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
  });
  // Without a listener an idle-client error would crash the process.
  const onPoolError =
    options.onPoolError ??
    ((err: Error) => console.warn(`fogline store: PostgreSQL ${where}: ${err.message}`));
  pool.on('error', onPoolError);

  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (cause) {
    await pool.end().catch(() => {});
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FoglineError('UNAVAILABLE', `cannot reach PostgreSQL at ${where}: ${reason}`, { cause });
  }
  try {
    // Replicas starting together must not run the same migration twice: one at a time, on one session.
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await migrate(drizzle({ client, schema }), { migrationsFolder: MIGRATIONS_FOLDER });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } catch (cause) {
    client.release(true);
    await pool.end().catch(() => {});
    throw new FoglineError('INTERNAL', `migrating PostgreSQL at ${where} failed`, { cause });
  }
  client.release();
  return { db: drizzle({ client: pool, schema }), driver: 'postgres', close: () => pool.end() };
}

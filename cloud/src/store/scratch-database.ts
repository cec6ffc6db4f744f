/**
 * Test support: a uniquely named PostgreSQL database per test file, so parallel runs never collide and
 * never touch the shared `test` database's tables. Requires the local PostgreSQL (.ci/ensure-services.sh);
 * when it is down the calling suite FAILS with a message saying so (it never skips).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Maintenance connection used only to create and drop scratch databases. */
export const TEST_POSTGRES_URL =
  process.env.FOGLINE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface ScratchDatabase {
  /** Connection URL of the fresh, empty database. */
  readonly url: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new Error(
      `PostgreSQL is not reachable at ${TEST_POSTGRES_URL} (${reason}). ` +
        'Start it with .ci/ensure-services.sh; the PostgreSQL store tests need the real server.',
      { cause },
    );
  }
  try {
    return await run(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `fogline_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`create database ${name}`));
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE (PostgreSQL 13+) ends connections a failed test may have leaked.
    drop: () => withAdmin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {}),
  };
}

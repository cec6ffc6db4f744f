/** How openStore picks and prepares its backend; the repositories themselves are in store.contract.ts. */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from './migrations.ts';
import { openStore } from './open-store.ts';
import { openPostgresConnection } from './postgres-connection.ts';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.ts';

// A PGlite start takes 1–3 s alone and over 30 s on a loaded 2-core box: the time limit is for a hang.
describe('openStore', { timeout: 120_000 }, () => {
  let scratch: ScratchDatabase;
  let tmp: string;
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'fogline-open-'));
    scratch = await createScratchDatabase();
  });
  afterAll(async () => {
    await scratch?.drop();
    await rm(tmp, { recursive: true, force: true });
  });

  it('defaults to PGlite in ./.fogline, created on demand, whatever the working directory', async () => {
    const previous = process.cwd();
    process.chdir(tmp);
    try {
      const store = await openStore({ env: {} });
      expect(store.driver).toBe('pglite');
      expect(existsSync(join(tmp, '.fogline', 'pglite'))).toBe(true);
      const { key } = await store.apiKeys.create({ name: 'default-dir', ratePerSec: 1, burst: 1 });
      expect(await store.apiKeys.verify(key)).not.toBeNull();
      await store.close();
    } finally {
      process.chdir(previous);
    }
  });

  it('uses PostgreSQL when DATABASE_URL is set, and an explicit databaseUrl wins over it', async () => {
    const fromEnv = await openStore({ dataDir: join(tmp, 'unused'), env: { DATABASE_URL: scratch.url } });
    expect(fromEnv.driver).toBe('postgres');
    const { key } = await fromEnv.apiKeys.create({ name: 'from-env', ratePerSec: 1, burst: 1 });
    await fromEnv.close();
    expect(existsSync(join(tmp, 'unused'))).toBe(false);

    const explicit = await openStore({
      databaseUrl: scratch.url,
      env: { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/x' },
    });
    expect(await explicit.apiKeys.verify(key)).not.toBeNull();
    await explicit.close();
  });

  it('refuses a non-PostgreSQL URL with INVALID_ARG', async () => {
    for (const databaseUrl of ['mysql://root@localhost/db', 'sqlite:./x.db', '127.0.0.1:5432']) {
      await expect(openStore({ databaseUrl })).rejects.toMatchObject({ code: 'INVALID_ARG' });
    }
  });

  it('reports an unreachable server as UNAVAILABLE without leaking the password', async () => {
    const err = await openStore({ databaseUrl: 'postgres://fogline:s3cret-pw@127.0.0.1:1/fogline' }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ name: 'FoglineError', code: 'UNAVAILABLE' });
    expect(err.message).toContain('127.0.0.1:1');
    expect(err.message).not.toContain('s3cret-pw');
  });

  it('replicas opening a fresh PostgreSQL database together migrate it once and all work', async () => {
    const fresh = await createScratchDatabase();
    try {
      const replicas = await Promise.all([1, 2, 3].map(() => openPostgresConnection(fresh.url)));
      const applied = await replicas[0]!.db.execute(sql`select hash from drizzle.__drizzle_migrations`);
      const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'));
      expect((applied as unknown as { rows: unknown[] }).rows).toHaveLength(journal.entries.length);
      const migrated = await openStore({ databaseUrl: fresh.url });
      const edge = await migrated.edges.create('edge-1');
      expect(await migrated.edges.verify('edge-1', edge.token)).not.toBeNull();
      await migrated.close();
      await Promise.all(replicas.map((r) => r.close()));
    } finally {
      await fresh.drop();
    }
  });
});

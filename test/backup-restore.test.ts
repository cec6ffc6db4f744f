/**
 * Backup and restore of the control plane (docs/scale-out.md "Backup and restore"), as an operator
 * runs them: `fogline backup` / `fogline restore` (real CLI processes) on a PGlite data dir, and
 * pg_dump / pg_restore on a PostgreSQL database plus `fogline backup` of its data dir. Each time a
 * cloud started on the restored copy has the same admin token, edges, API keys (a key still infers)
 * and model store (an edge still downloads the same bytes with its token).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { backupDataDir, CloudAdminClient, restoreDataDir } from '@fogline/cloud';
import {
  digits,
  jsonInferBody,
  makeModelRepo,
  type RunningCloud,
  startCloud,
  tempDir,
} from '@fogline/cloud/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runFogline } from '../cli/src/testing/run-fogline.ts';
import { createScratchDatabase, type ScratchDatabase } from '../cloud/src/store/scratch-database.ts';

const root = tempDir('backup');
const models = makeModelRepo(['digits-tiny']);
const cloudOptions = { modelsDir: models, cloudModel: 'digits-tiny' };
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What a restore must bring back: made through the admin API of a running cloud. */
interface Seeded {
  adminToken: string;
  edgeToken: string;
  apiKey: string;
  version: number;
  sha256: string;
}

async function seed(cloud: RunningCloud): Promise<Seeded> {
  const admin = new CloudAdminClient({ url: cloud.url, adminToken: cloud.adminToken });
  const edge = await admin.createEdge('edge-b1');
  await admin.createDevice('dev-b1', 'edge-b1');
  const apiKey = await cloud.createKey('backup-key');
  const config = JSON.parse(readFileSync(join(models, 'digits-tiny', 'config.json'), 'utf8')) as unknown;
  const file = join(models, 'digits-tiny', '1', 'model.onnx');
  const pushed = await admin.pushModel({ name: 'digits-tiny', file, version: 7, config });
  return {
    adminToken: cloud.adminToken,
    edgeToken: edge.token,
    apiKey,
    version: pushed.version.version,
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
  };
}

/** The restored cloud answers as the original did, with the original's credentials. */
async function expectRestored(cloud: RunningCloud, seeded: Seeded): Promise<void> {
  expect(cloud.ready.adminToken).toMatchObject({ token: seeded.adminToken, created: false });
  const admin = new CloudAdminClient({ url: cloud.url, adminToken: seeded.adminToken });
  expect((await admin.listEdges()).map((e) => e.id)).toEqual(['edge-b1']);
  expect((await admin.listDevices()).map((d) => d.id)).toEqual(['dev-b1']);
  expect((await admin.listKeys()).map((k) => k.name)).toEqual(['backup-key']);
  const infer = (key: string) =>
    fetch(`${cloud.url}/v2/models/digits-tiny/infer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: jsonInferBody(digits(1).images),
    });
  expect((await infer(seeded.apiKey)).status).toBe(200);
  expect((await infer('fgl_not-a-key')).status).toBe(401);
  const versions = await admin.modelVersions('digits-tiny');
  expect(versions.map((v) => [v.version, v.sha256])).toEqual([[seeded.version, seeded.sha256]]);
  const download = await fetch(`${cloud.url}/v2/fogline/models/digits-tiny/versions/${seeded.version}/file`, {
    headers: { authorization: `Bearer edge-b1:${seeded.edgeToken}` },
  });
  expect(download.status).toBe(200);
  const bytes = Buffer.from(await download.arrayBuffer());
  expect(createHash('sha256').update(bytes).digest('hex')).toBe(seeded.sha256);
}

/** Entries of `dir` whose mode lets anyone but the owner in (directories not 0700, files g/o bits). */
function exposed(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const mode = statSync(d).mode & 0o777;
    if (mode !== 0o700) out.push(`${relative(dir, d) || '.'}/ ${mode.toString(8)}`);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      if (e.isDirectory()) walk(path);
      else if ((statSync(path).mode & 0o077) !== 0) {
        out.push(`${relative(dir, path)} ${(statSync(path).mode & 0o777).toString(8)}`);
      }
    }
  };
  walk(dir);
  return out;
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('fogline backup / restore of a PGlite data dir', { timeout: 300_000 }, () => {
  it('restores edges, keys, the admin token and the model store into a new dir, 0700/0600', async () => {
    const source = join(root, 'pglite-source');
    const archive = join(root, 'pglite.tar.gz');
    const cloud = await startCloud({ ...cloudOptions, dataDir: source });
    let seeded: Seeded;
    try {
      seeded = await seed(cloud);
      // While the cloud runs on it: refused, nothing written.
      await expect(backupDataDir(source, archive)).rejects.toMatchObject({
        code: 'PERMISSION_DENIED',
        message: expect.stringMatching(/a cloud \(pid \d+\) runs on .*: stop it before you back it up/),
      });
      expect(() => statSync(archive)).toThrow();
    } finally {
      await cloud.server.stop();
    }

    const backup = await runFogline('backup', '--data-dir', source, '--out', archive);
    expect(backup.stderr).toBe('');
    expect(backup.code).toBe(0);
    expect(backup.stdout).toMatch(/^backed up .* to .*pglite\.tar\.gz \(\d+ entries, \d+ bytes\)\n$/);
    expect(modeOf(archive)).toBe(0o600);

    const target = join(root, 'restored', 'state'); // two levels restore creates
    const restore = await runFogline('restore', '--in', archive, '--data-dir', target);
    expect(restore.code).toBe(0);
    expect(restore.stdout).toMatch(/^restored into .*state from .* \(\d+ entries\)\n$/);
    expect(exposed(target)).toEqual([]);
    expect(readdirSync(target).sort()).toEqual(readdirSync(source).sort());

    const restored = await startCloud({ ...cloudOptions, dataDir: target });
    try {
      await expectRestored(restored, seeded);
    } finally {
      await restored.stop();
    }
  });

  it('refuses a non-empty dir without --force, and an archive that is not a backup', async () => {
    // A data dir as the cloud leaves it, minus the database (the test above restores a real one).
    const source = join(root, 'force-source');
    mkdirSync(join(source, 'store', 'sha256'), { recursive: true, mode: 0o700 });
    writeFileSync(join(source, 'admin-token'), 'fgladm_test\n', { mode: 0o600 });
    writeFileSync(join(source, 'store', 'sha256', 'ab'), 'model', { mode: 0o600 });
    const archive = join(root, 'force.tar.gz');
    await backupDataDir(source, archive);

    const target = join(root, 'force-target');
    mkdirSync(target, { mode: 0o700 });
    writeFileSync(join(target, 'keep-me'), 'x');
    const refused = await runFogline('restore', '--in', archive, '--data-dir', target);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/force-target is not empty \(1 entries\); pass --force/);
    expect(readdirSync(target)).toEqual(['keep-me']);

    const forced = await restoreDataDir(archive, target, { force: true });
    expect(forced.replaced).toBe(true);
    expect(readdirSync(target).sort()).toEqual(['admin-token', 'store']);
    expect(readFileSync(join(target, 'store', 'sha256', 'ab'), 'utf8')).toBe('model');

    const garbage = join(root, 'garbage.tar.gz');
    writeFileSync(garbage, 'not an archive');
    const empty = join(root, 'garbage-target');
    await expect(restoreDataDir(garbage, empty)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/garbage\.tar\.gz is not a readable \.tar\.gz backup/),
    });
    expect(readdirSync(empty)).toEqual([]);
    await expect(backupDataDir(empty, join(root, 'none.tar.gz'))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    // A database PGlite has open (or a cloud killed before closing it): refused, nothing written.
    mkdirSync(join(source, 'pglite'), { mode: 0o700 });
    writeFileSync(join(source, 'pglite', 'postmaster.pid'), '-42\n');
    await expect(backupDataDir(source, join(root, 'open.tar.gz'))).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: expect.stringMatching(/is open or was not closed cleanly/),
    });
    expect(() => statSync(join(root, 'open.tar.gz'))).toThrow();
  });
});

function hasPostgresClient(): boolean {
  try {
    execFileSync('pg_dump', ['--version'], { stdio: 'ignore' });
    execFileSync('pg_restore', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const client = hasPostgresClient();
const skipped = client
  ? ''
  : ' (SKIPPED: pg_dump/pg_restore not installed: apt-get install postgresql-client)';

describe(`PostgreSQL: pg_dump / pg_restore, plus fogline backup of the data dir${skipped}`, {
  timeout: 240_000,
}, () => {
  const databases: ScratchDatabase[] = [];
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it.skipIf(!client)(
    'a cloud on the restored database and data dir has the same edges, keys and model store',
    async () => {
      const [source, target] = await Promise.all([createScratchDatabase(), createScratchDatabase()]);
      databases.push(source, target);
      const dataDir = join(root, 'pg-source');
      const cloud = await startCloud({ ...cloudOptions, dataDir, databaseUrl: source.url });
      let seeded: Seeded;
      try {
        seeded = await seed(cloud);
      } finally {
        await cloud.server.stop();
      }
      // The commands of docs/scale-out.md "Backup and restore".
      const dump = join(root, 'fogline.dump');
      execFileSync('pg_dump', ['--format=custom', '--file', dump, source.url]);
      execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '--dbname', target.url, dump]);
      const archive = join(root, 'pg-data.tar.gz');
      expect((await runFogline('backup', '--data-dir', dataDir, '--out', archive)).code).toBe(0);
      const restoredDir = join(root, 'pg-restored');
      expect((await runFogline('restore', '--in', archive, '--data-dir', restoredDir)).code).toBe(0);

      const restored = await startCloud({ ...cloudOptions, dataDir: restoredDir, databaseUrl: target.url });
      try {
        await expectRestored(restored, seeded);
      } finally {
        await restored.stop();
      }
    },
  );
});

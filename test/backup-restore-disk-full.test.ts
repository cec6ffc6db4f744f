/**
 * `fogline restore` onto a disk too small for the backup (docs/scale-out.md "Backup and restore"): a
 * real 1 MiB tmpfs, so the extraction fails with a real ENOSPC. The restore says the disk is full
 * (RESOURCE_EXHAUSTED), not that the archive is unreadable, and the data dir is left as it was; so
 * it does when the disk has no inode left for its staging folder (a tmpfs with 8 inodes), and so
 * does `fogline backup` onto a full disk.
 * Mounting needs root (CAP_SYS_ADMIN): without it the suite is skipped, saying why.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupDataDir, restoreDataDir } from '@fogline/cloud';
import { tempDir } from '@fogline/cloud/testing';
import { mountTmpfs, unmountTmpfs } from '@fogline/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runFogline } from '../cli/src/testing/run-fogline.ts';

const root = tempDir('restore-disk-full');
/** The small disk: a 1 MiB tmpfs, or why there is none. */
const disk = join(root, 'disk');
mkdirSync(disk, { mode: 0o700 });
const noMount = mountTmpfs(disk, 'size=1m,mode=0700');
afterAll(() => {
  if (noMount === undefined) for (const mount of [disk, inodes]) unmountTmpfs(mount);
  rmSync(root, { recursive: true, force: true });
});

/** A second small disk with almost no inodes: a folder cannot be made on it, nor a file. */
const inodes = join(root, 'inodes');
mkdirSync(inodes, { mode: 0o700 });
if (noMount === undefined) {
  mountTmpfs(inodes, 'size=1m,nr_inodes=8,mode=0700');
}

/** A real `fogline backup` of a data dir holding 4 MiB more than the small disk takes. */
async function largeBackup(): Promise<string> {
  const source = join(root, 'source');
  mkdirSync(join(source, 'store'), { recursive: true, mode: 0o700 });
  writeFileSync(join(source, 'admin-token'), 'fgladm_backed_up\n', { mode: 0o600 });
  writeFileSync(join(source, 'store', 'model.onnx'), Buffer.alloc(4 * 2 ** 20, 7), { mode: 0o600 });
  return (await backupDataDir(source, join(root, 'large.tar.gz'))).file;
}

describe.skipIf(noMount !== undefined)(
  `fogline restore onto a disk that fills up${noMount === undefined ? '' : ` (skipped: ${noMount})`}`,
  { timeout: 120_000 },
  () => {
    it('RESOURCE_EXHAUSTED naming the full disk; the data dir (--force) keeps what it held', async () => {
      const archive = await largeBackup();
      const data = join(disk, 'data');
      mkdirSync(data, { mode: 0o700 });
      writeFileSync(join(data, 'admin-token'), 'fgladm_previous\n', { mode: 0o600 });
      await expect(restoreDataDir(archive, data, { force: true })).rejects.toMatchObject({
        code: 'RESOURCE_EXHAUSTED',
        message: expect.stringMatching(
          /^the disk of .*\/disk\/data is full \(ENOSPC: no space left on device\) after [\d.]+ MiB of .*large\.tar\.gz had been inflated; nothing was restored, the data dir is as it was; free space on it and restore again$/,
        ),
        details: expect.objectContaining({ errno: 'ENOSPC' }),
      });
      expect(readdirSync(data)).toEqual(['admin-token']); // its staging folder gone with the failure
      expect(readFileSync(join(data, 'admin-token'), 'utf8')).toBe('fgladm_previous\n');
    });

    it('the CLI says so in one line and exits 1; the empty data dir stays empty', async () => {
      const archive = await largeBackup();
      const data = join(disk, 'cli-data');
      const refused = await runFogline('restore', '--in', archive, '--data-dir', data);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        /^fogline: the disk of .*cli-data is full \(ENOSPC: no space left on device\)/,
      );
      expect(refused.stderr).not.toMatch(/not a readable/);
      expect(readdirSync(data)).toEqual([]);
    });

    it('no inode left for the staging folder: the same RESOURCE_EXHAUSTED, not a raw ENOSPC', async () => {
      const archive = await largeBackup();
      const data = join(inodes, 'data');
      mkdirSync(data, { mode: 0o700 });
      writeFileSync(join(data, 'admin-token'), 'fgladm_previous\n', { mode: 0o600 });
      // Take every inode left, so that the restore's first mkdir is the one that finds none.
      const filler = join(inodes, 'filler');
      mkdirSync(filler);
      for (let i = 0; ; i += 1) {
        try {
          writeFileSync(join(filler, String(i)), '');
        } catch {
          break;
        }
      }
      await expect(restoreDataDir(archive, data, { force: true })).rejects.toMatchObject({
        code: 'RESOURCE_EXHAUSTED',
        message: expect.stringMatching(
          /^the disk of .*\/inodes\/data is full \(ENOSPC: no space left on device\) while restoring .*large\.tar\.gz; nothing was restored, the data dir is as it was; free space on it and restore again$/,
        ),
        details: expect.objectContaining({ errno: 'ENOSPC' }),
      });
      expect(readdirSync(inodes).sort()).toEqual(['data', 'filler']);
      expect(readFileSync(join(data, 'admin-token'), 'utf8')).toBe('fgladm_previous\n');
    });

    it('fogline backup onto a full disk: RESOURCE_EXHAUSTED naming it, no archive left', async () => {
      const source = join(root, 'incompressible');
      mkdirSync(source, { mode: 0o700 });
      writeFileSync(join(source, 'admin-token'), 'fgladm_backed_up\n', { mode: 0o600 });
      writeFileSync(join(source, 'model.onnx'), randomBytes(2 * 2 ** 20), { mode: 0o600 });
      const out = join(disk, 'backup.tar.gz');
      const refused = await runFogline('backup', '--data-dir', source, '--out', out);
      expect(refused.stderr).toMatch(
        /^fogline: the disk of .*\/disk is full \(ENOSPC: no space left on device\) while backing up to .*backup\.tar\.gz; no backup was written; free space on it and back up again\n$/,
      );
      expect(refused.code).toBe(1);
      expect(readdirSync(disk).filter((name) => name.includes('backup'))).toEqual([]);
    });
  },
);

/**
 * `fogline restore --force` puts the new data dir in place by renames, after it is extracted and
 * fsynced (docs/scale-out.md "Backup and restore"): a failure at the swap leaves the old data dir
 * whole, and what a kill between the renames leaves is put back by the next restore. Real failures:
 * an immutable entry or data dir (`chattr +i`, which stops root too) that cannot be renamed, and a
 * data dir that is a mount point (a real tmpfs: a volume, which cannot be renamed, so its entries
 * are swapped one by one). Without CAP_LINUX_IMMUTABLE or CAP_SYS_ADMIN those parts are skipped.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backupDataDir, CloudServer, restoreDataDir } from '@fogline/cloud';
import { makeModelRepo, tempDir } from '@fogline/cloud/testing';
import { mountTmpfs, unmountTmpfs } from '@fogline/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runFogline } from '../cli/src/testing/run-fogline.ts';

const root = tempDir('restore-swap');
const models = makeModelRepo(['digits-tiny']);
/** chattr +i: whether it works here (a container may lack CAP_LINUX_IMMUTABLE), or why not. */
let noChattr: string | undefined;
try {
  const probe = join(root, 'probe');
  writeFileSync(probe, '');
  execFileSync('chattr', ['+i', probe], { stdio: 'pipe' });
  execFileSync('chattr', ['-i', probe], { stdio: 'pipe' });
} catch (err) {
  noChattr = `chattr +i is not permitted here (${(err as Error).message.split('\n')[0]})`;
}
const pinned: string[] = [];
const pin = (path: string) => {
  execFileSync('chattr', ['+i', path]);
  pinned.push(path);
};
const unpin = (path: string) => {
  execFileSync('chattr', ['-i', path]);
  pinned.splice(pinned.indexOf(path), 1);
};
/** A volume: a real tmpfs mounted as the data dir, or why there is none. */
const volume = join(root, 'volume');
mkdirSync(volume, { mode: 0o700 });
const noMount = mountTmpfs(volume, 'size=16m,mode=0700');
afterAll(() => {
  for (const path of pinned) execFileSync('chattr', ['-i', path], { stdio: 'ignore' });
  if (noMount === undefined) unmountTmpfs(volume);
  rmSync(root, { recursive: true, force: true });
  rmSync(models, { recursive: true, force: true });
});

/** A `fogline backup` of a data dir whose admin token is `token`. */
async function backupOf(name: string, token: string): Promise<string> {
  const source = join(root, `${name}-source`);
  mkdirSync(join(source, 'store'), { recursive: true, mode: 0o700 });
  writeFileSync(join(source, 'admin-token'), `${token}\n`, { mode: 0o600 });
  writeFileSync(join(source, 'store', 'model.onnx'), `${name} model`, { mode: 0o600 });
  return (await backupDataDir(source, join(root, `${name}.tar.gz`))).file;
}

/** A data dir as a cloud left it: its admin token and a model file. */
function previousDataDir(dir: string): void {
  mkdirSync(join(dir, 'store'), { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'admin-token'), 'fgladm_previous\n', { mode: 0o600 });
  writeFileSync(join(dir, 'store', 'model.onnx'), 'previous model', { mode: 0o600 });
}

function expectPrevious(dir: string, extra: string[] = []): void {
  expect(readdirSync(dir).sort()).toEqual(['admin-token', ...extra, 'store'].sort());
  expect(readFileSync(join(dir, 'admin-token'), 'utf8')).toBe('fgladm_previous\n');
  expect(readFileSync(join(dir, 'store', 'model.onnx'), 'utf8')).toBe('previous model');
}

describe('fogline restore --force swaps the data dir in by renames', { timeout: 120_000 }, () => {
  it('puts back what a kill between the two renames left (no data dir, the old one beside it), and says so', async () => {
    const archive = await backupOf('after-kill', 'fgladm_new');
    const parent = join(root, 'killed');
    mkdirSync(parent, { mode: 0o700 });
    const data = join(parent, 'data');
    // The state a kill after the first rename leaves: the data dir moved aside, the staged one beside.
    previousDataDir(join(parent, '.data.old-20261207T081500000Z'));
    mkdirSync(join(parent, '.data.restore-0badc0de', 'store'), { recursive: true, mode: 0o700 });
    const refused = await runFogline('restore', '--in', archive, '--data-dir', data);
    expect(refused.stderr).toMatch(
      /^fogline: a restore into .*killed\/data was interrupted: its previous contents \(.*\.data\.old-20261207T081500000Z\) are back\nfogline: .*killed\/data is not empty \(2 entries\); pass --force/,
    );
    expect(refused.code).toBe(1);
    expectPrevious(data);
    expect(readdirSync(parent)).toEqual(['data']); // the staging folder left by the kill is gone too

    const forced = await runFogline('restore', '--in', archive, '--data-dir', data, '--force');
    expect(forced.stderr).toBe('');
    expect(forced.stdout).toMatch(/^replaced the contents of .*killed\/data from /);
    expect(readFileSync(join(data, 'admin-token'), 'utf8')).toBe('fgladm_new\n');
    expect(readdirSync(parent)).toEqual(['data']); // the old one deleted once the new one is in
  });

  it('a cloud started on what such a kill left starts on the old data dir, put back, and says so', async () => {
    const parent = join(root, 'killed-cloud');
    mkdirSync(parent, { mode: 0o700 });
    const data = join(parent, 'data');
    previousDataDir(join(parent, '.data.old-20261207T081500000Z'));
    const lines: string[] = [];
    const cloud = new CloudServer(
      {
        httpPort: 0,
        host: '127.0.0.1',
        mqttPort: null,
        dataDir: data,
        modelsDir: models,
        cloudModel: 'digits-tiny',
      },
      () => {},
      (line) => lines.push(line),
    );
    try {
      const ready = await cloud.start();
      expect(ready.adminToken).toMatchObject({ token: 'fgladm_previous', created: false });
    } finally {
      await cloud.stop();
    }
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^a restore into .*killed-cloud\/data was interrupted: its previous contents \(.*\) are back$/,
      ),
    );
    expect(readFileSync(join(data, 'store', 'model.onnx'), 'utf8')).toBe('previous model');
    expect(readdirSync(parent)).toEqual(['data']);
  });

  it.skipIf(noChattr !== undefined)(
    `a data dir that cannot be renamed (chattr +i) is left as it was, nothing beside it${noChattr ? ` (skipped: ${noChattr})` : ''}`,
    async () => {
      const archive = await backupOf('pinned-dir', 'fgladm_new');
      const parent = join(root, 'pinned');
      const data = join(parent, 'data');
      previousDataDir(data);
      pin(data);
      await expect(restoreDataDir(archive, data, { force: true })).rejects.toMatchObject({
        code: 'INTERNAL',
        message: expect.stringMatching(
          /^restoring .*pinned-dir\.tar\.gz into .*pinned\/data failed: .*operation not permitted.*; nothing was restored, the data dir is as it was$/,
        ),
      });
      unpin(data);
      expectPrevious(data);
      expect(readdirSync(parent)).toEqual(['data']);
    },
  );
});

describe.skipIf(noMount !== undefined || noChattr !== undefined)(
  `fogline restore --force into a data dir that is a mount point${(noMount ?? noChattr) ? ` (skipped: ${noMount ?? noChattr})` : ''}`,
  { timeout: 120_000 },
  () => {
    it('a failure at the swap moves every entry back; once it can, the restore replaces them', async () => {
      const archive = await backupOf('volume', 'fgladm_new');
      // Last in readdir's (sorted) order: the swap has moved the others out by the time it fails.
      writeFileSync(join(volume, 'zz-pinned'), 'cannot be moved', { mode: 0o600 });
      pin(join(volume, 'zz-pinned'));
      previousDataDir(volume);
      const refused = await runFogline('restore', '--in', archive, '--data-dir', volume, '--force');
      expect(refused.stderr).toMatch(
        /^fogline: restoring .*volume\.tar\.gz into .*volume failed: .*; nothing was restored, the data dir is as it was\n$/,
      );
      expect(refused.code).toBe(1);
      unpin(join(volume, 'zz-pinned'));
      expectPrevious(volume, ['zz-pinned']); // nothing of ours left inside either

      rmSync(join(volume, 'zz-pinned'));
      const forced = await runFogline('restore', '--in', archive, '--data-dir', volume, '--force');
      expect(forced.stderr).toBe('');
      expect(forced.code).toBe(0);
      expect(readdirSync(volume).sort()).toEqual(['admin-token', 'store']);
      expect(readFileSync(join(volume, 'admin-token'), 'utf8')).toBe('fgladm_new\n');
      expect(readFileSync(join(volume, 'store', 'model.onnx'), 'utf8')).toBe('volume model');
    });
  },
);

/**
 * fogline's state is private to its user (docs/security.md "Data directory"): `fogline cloud` and
 * `fogline edge`, started as a user would under the usual umask 022, leave every directory of their
 * data dir 0700 and every file without group or other bits (PGlite's own 0666 files included); a data
 * dir others can reach is refused in one line unless `--insecure-data-dir`.
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { makeModelRepo, tempDir } from '@fogline/cloud/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { startFoglineProcess } from '../cli/src/testing/fogline-process.ts';
import { runFogline } from '../cli/src/testing/run-fogline.ts';

const root = tempDir('modes');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `path → mode` of everything under `dir` (dir itself as "."), directories marked with a slash. */
function modes(dir: string): Map<string, number> {
  const out = new Map<string, number>([['./', statSync(dir).mode & 0o777]]);
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, e.name);
      out.set(relative(dir, path) + (e.isDirectory() ? '/' : ''), statSync(path).mode & 0o777);
      if (e.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return out;
}

/** Entries whose mode lets anyone but the owner in: directories not 0700, files with group/other bits. */
function exposed(dir: string): string[] {
  return [...modes(dir)]
    .filter(([path, mode]) => (path.endsWith('/') ? mode !== 0o700 : (mode & 0o077) !== 0))
    .map(([path, mode]) => `${path} ${mode.toString(8)}`);
}

describe('data dir modes under umask 022 (processes)', { timeout: 180_000 }, () => {
  const models = makeModelRepo(['digits-tiny', 'digits-large']);

  it('fogline cloud: the data dir, PGlite and every file in them are the owner’s only', async () => {
    const dataDir = join(root, 'cloud', 'state'); // two levels fogline creates
    const cloud = await startFoglineProcess(
      [
        'cloud',
        '--host',
        '127.0.0.1',
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
        '--data-dir',
        dataDir,
        '--models',
        models,
      ],
      { umask: 0o022 },
    );
    try {
      const running = modes(dataDir);
      expect(running.get('admin-token')).toBe(0o600);
      expect(running.get('cloud.json')).toBe(0o600);
      expect(running.get('pglite/')).toBe(0o700);
      expect(running.size).toBeGreaterThan(100); // PGlite's tree is there, and was walked
      expect(exposed(dataDir)).toEqual([]);
      expect(statSync(join(root, 'cloud')).mode & 0o777).toBe(0o700);
    } finally {
      expect(await cloud.stop()).toBe(0);
    }
    // What PGlite wrote while running is tightened at close too.
    expect(exposed(dataDir)).toEqual([]);
  });

  it('fogline edge: its data dir and probe cache are the owner’s only', async () => {
    const dataDir = join(root, 'edge');
    const edge = await startFoglineProcess(
      [
        'edge',
        '--id',
        'edge-m',
        '--token',
        'fge_test',
        '--cloud',
        'http://127.0.0.1:9',
        '--host',
        '127.0.0.1',
        '--mqtt-port',
        '0',
        '--data-dir',
        dataDir,
        '--sizing',
        'probe',
        '--quiet',
      ],
      { umask: 0o022 },
    );
    try {
      const running = modes(dataDir);
      expect(running.get('engine-probes.json')).toBe(0o600);
      expect(exposed(dataDir)).toEqual([]);
    } finally {
      await edge.stop();
    }
  });

  it('refuses a group- or world-accessible data dir in one line, unless --insecure-data-dir', async () => {
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    const args = ['cloud', '--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0', '--models', models];
    const refused = await runFogline(...args, '--data-dir', open);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain(`data dir ${open} is accessible to other users (mode 0755)`);
    expect(refused.stderr).toContain('--insecure-data-dir');
    expect(readdirSync(open)).toEqual([]); // nothing written into it

    const edge = await runFogline(
      'edge',
      '--id',
      'e',
      '--token',
      't',
      '--cloud',
      'http://127.0.0.1:9',
      '--mqtt-port',
      '0',
      '--sizing',
      'default',
      '--data-dir',
      open,
    );
    expect(edge.code).toBe(1);
    expect(edge.stderr).toMatch(/accessible to other users.*--insecure-data-dir/);

    const accepted = await startFoglineProcess([...args, '--data-dir', open, '--insecure-data-dir']);
    expect(accepted.ready).toMatchObject({ event: 'ready' });
    expect(await accepted.stop()).toBe(0);
  });
});

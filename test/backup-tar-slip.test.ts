/**
 * `fogline restore` of a crafted archive (docs/security.md "Paths from outside"): an entry that
 * would land outside the data dir (`../x`, an absolute path) or a link (a symlink to elsewhere with
 * a file written through it, a hard link to a file elsewhere) is refused whole with one INVALID_ARG
 * line naming the entry; nothing is written, in the data dir or outside it ("tar slip").
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { restoreDataDir } from '@fogline/cloud';
import { tempDir } from '@fogline/cloud/testing';
import { Header } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { runFogline } from '../cli/src/testing/run-fogline.ts';

const root = tempDir('tar-slip');
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Entry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link';
  linkpath?: string;
  body?: string;
}

/** A real .tar.gz, header by header, so that it can hold what `fogline backup` never writes. */
function craftedArchive(name: string, entries: readonly Entry[]): string {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const type = e.type ?? 'File';
    const header = new Header({
      path: e.path,
      type,
      size: type === 'File' ? body.length : 0,
      mode: type === 'Directory' ? 0o700 : 0o600,
      mtime: new Date(0),
      ...(e.linkpath !== undefined && { linkpath: e.linkpath }),
    });
    header.encode();
    blocks.push(header.block!);
    if (type === 'File' && body.length > 0) {
      blocks.push(Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const file = join(root, `${name}.tar.gz`);
  writeFileSync(file, gzipSync(Buffer.concat(blocks)));
  return file;
}

describe('fogline restore refuses an archive whose entries leave the data dir', () => {
  // Each case in its own folder: `outside` is where an escape would write, `data` the target.
  const place = (name: string) => {
    const dir = join(root, name);
    mkdirSync(join(dir, 'outside'), { recursive: true });
    writeFileSync(join(dir, 'outside', 'victim'), 'untouched');
    return { data: join(dir, 'data'), outside: join(dir, 'outside') };
  };
  const token = { path: 'admin-token', body: 'fgladm_test\n' };

  it.each([
    [
      'dotdot',
      (_o: string) => [token, { path: '../outside/escaped', body: 'x' }],
      '../outside/escaped',
      /has a '\.\.' part/,
    ],
    [
      'deep',
      (_o: string) => [token, { path: 'store/../../outside/escaped', body: 'x' }],
      'store/../../outside/escaped',
      /has a '\.\.' part/,
    ],
    ['absolute', (o: string) => [token, { path: join(o, 'escaped'), body: 'x' }], 'ABS', /is absolute/],
    [
      'symlink',
      (o: string) => [
        token,
        { path: 'store', type: 'SymbolicLink' as const, linkpath: o },
        { path: 'store/escaped', body: 'x' },
      ],
      'store',
      /is a SymbolicLink \(a backup holds files and directories only\)/,
    ],
    [
      'hardlink',
      (o: string) => [token, { path: 'store', type: 'Link' as const, linkpath: join(o, 'victim') }],
      'store',
      /is a Link/,
    ],
  ])('%s: INVALID_ARG naming the entry, nothing written anywhere', async (name, entries, entry, why) => {
    const { data, outside } = place(name);
    const archive = craftedArchive(name, entries(outside));
    const named = entry === 'ABS' ? join(outside, 'escaped') : entry;
    await expect(restoreDataDir(archive, data)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringContaining(`its entry ${JSON.stringify(named)}`),
    });
    await expect(restoreDataDir(archive, data)).rejects.toThrow(why);
    expect(readdirSync(data)).toEqual([]);
    expect(readdirSync(outside)).toEqual(['victim']);
  });

  it('the CLI says so in one line and exits 1', async () => {
    const { data, outside } = place('cli');
    const archive = craftedArchive('cli', [token, { path: '../outside/escaped', body: 'x' }]);
    const refused = await runFogline('restore', '--in', archive, '--data-dir', data);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /is not a fogline data-dir backup: its entry "\.\.\/outside\/escaped" has a '\.\.' part \(it would land outside the data dir\); nothing was restored/,
    );
    expect(readdirSync(data)).toEqual([]);
    expect(readdirSync(outside)).toEqual(['victim']);
  });
});

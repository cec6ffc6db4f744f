/**
 * `fogline restore` of a crafted archive (docs/security.md "Paths from outside"): an entry that
 * would land outside the data dir (`../x`, an absolute path) or a link (a symlink to elsewhere with
 * a file written through it, a hard link to a file elsewhere) is refused whole with one INVALID_ARG
 * line naming the entry; nothing is written, in the data dir or outside it ("tar slip"). An archive
 * that inflates past the restore's limit (a gzip bomb, or one gzipped twice) is refused while it is
 * extracted, and the data dir is left as it was.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/**
 * A real .tar.gz, header by header, so that it can hold what `fogline backup` never writes;
 * `gzipLayers` 2 gzips the .tar.gz once more.
 */
function craftedArchive(name: string, entries: readonly Entry[], gzipLayers = 1): string {
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
  let bytes = Buffer.concat(blocks);
  for (let i = 0; i < gzipLayers; i += 1) bytes = gzipSync(bytes);
  writeFileSync(file, bytes);
  return file;
}

describe('fogline restore refuses an archive whose entries leave the data dir', { timeout: 120_000 }, () => {
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

describe('fogline restore refuses an archive that inflates past its limit', { timeout: 120_000 }, () => {
  const MiB = 2 ** 20;
  const token = { path: 'admin-token', body: 'fgladm_test\n' };
  // 8 MiB of zeros: a few KB once gzipped.
  const bomb = [token, { path: 'store/zeros', body: '\0'.repeat(8 * MiB) }];
  /** A data dir that already holds a restore, which a refused `--force` must leave as it is. */
  const previous = (name: string) => {
    const data = join(root, name);
    mkdirSync(data, { recursive: true, mode: 0o700 });
    writeFileSync(join(data, 'admin-token'), 'fgladm_previous\n');
    return data;
  };

  it('PAYLOAD_TOO_LARGE naming the limit and the flag; the data dir untouched, even with --force', async () => {
    const archive = craftedArchive('bomb', bomb);
    expect(statSync(archive).size).toBeLessThan(64 * 1024);
    const data = previous('bomb-data');
    await expect(restoreDataDir(archive, data, { force: true, maxExpandedBytes: MiB })).rejects.toMatchObject(
      {
        code: 'PAYLOAD_TOO_LARGE',
        message: expect.stringMatching(
          /bomb\.tar\.gz inflates past 1 MiB \(the limit given\); nothing was restored; pass --max-expanded-mb <MiB> to allow more$/,
        ),
      },
    );
    expect(readdirSync(data)).toEqual(['admin-token']);
    expect(readFileSync(join(data, 'admin-token'), 'utf8')).toBe('fgladm_previous\n');

    // Allowed more, the same archive restores.
    const restored = await restoreDataDir(archive, data, { force: true, maxExpandedBytes: 16 * MiB });
    expect(restored.replaced).toBe(true);
    expect(statSync(join(data, 'store', 'zeros')).size).toBe(8 * MiB);
  });

  it('a tar gzipped twice may not inflate its inner layer past the count', async () => {
    // 8 MiB that gzip takes ~170:1 (below tar's own ratio check of 1000:1), then gzipped again: the
    // outer layer inflates to ~50 KB, under the limit; the inner one would be 8 MiB past it.
    const blocks = Array.from({ length: 8 * 1024 }, (_, i) =>
      String((i * 7919) % 100_003).padEnd(1024, '\0'),
    );
    const archive = craftedArchive('bomb-twice', [token, { path: 'store/blocks', body: blocks.join('') }], 2);
    const data = previous('bomb-twice-data');
    await expect(restoreDataDir(archive, data, { force: true, maxExpandedBytes: MiB })).rejects.toMatchObject(
      { code: 'INVALID_ARG', message: expect.stringMatching(/is not a readable/) },
    );
    expect(readdirSync(data)).toEqual(['admin-token']);
  });

  it('the CLI: one line with the limit and --max-expanded-mb, exit 1; the flag raises it', async () => {
    const archive = craftedArchive('bomb-cli', bomb);
    const data = join(root, 'bomb-cli-data');
    const restore = (mb: string) =>
      runFogline('restore', '--in', archive, '--data-dir', data, '--max-expanded-mb', mb);
    const refused = await restore('2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /bomb-cli\.tar\.gz inflates past 2 MiB \(the limit given\); nothing was restored; pass --max-expanded-mb <MiB> to allow more\n$/,
    );
    expect(readdirSync(data)).toEqual([]);
    const bad = await restore('0');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--max-expanded-mb must be a positive integer, got "0"/);
    const allowed = await restore('9');
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(statSync(join(data, 'store', 'zeros')).size).toBe(8 * MiB);
  });
});

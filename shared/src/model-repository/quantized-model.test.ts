/**
 * `fogline quantize --into` onto a full disk (a real 64 KiB tmpfs; mounting needs root, else
 * skipped): RESOURCE_EXHAUSTED naming the disk, and no half-written model left in the repository,
 * where it would be the newest version of `<name>-int8`.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountTmpfs, unmountTmpfs } from '../testing/tmpfs.ts';
import { quantizedModelTarget, writeQuantizedModel } from './quantized-model.ts';
import { DEFAULT_MODELS_DIR } from './repository.ts';

const repo = mkdtempSync(join(tmpdir(), 'fogline-quantized-disk-'));
const noMount = mountTmpfs(repo, 'size=64k');
afterAll(() => {
  if (noMount === undefined) unmountTmpfs(repo);
  rmSync(repo, { recursive: true, force: true });
});

describe('a quantized copy written onto a full disk', () => {
  it.skipIf(noMount !== undefined)(
    `is RESOURCE_EXHAUSTED naming the disk, and leaves nothing of the model${noMount ? ` (skipped: ${noMount})` : ''}`,
    async () => {
      const source = join(DEFAULT_MODELS_DIR, 'digits-mid', '1', 'model.onnx');
      const target = await quantizedModelTarget(source, repo);
      // The committed INT8 copy: 108 KiB, which the 64 KiB disk cannot hold.
      const bytes = readFileSync(join(DEFAULT_MODELS_DIR, 'digits-mid-int8', '1', 'model.onnx'));
      await expect(writeQuantizedModel(target, bytes, 'test')).rejects.toMatchObject({
        code: 'RESOURCE_EXHAUSTED',
        message: expect.stringMatching(
          /^the disk of .*digits-mid-int8 is full \(ENOSPC: no space left on device\) while writing digits-mid-int8 v1; nothing of it was left$/,
        ),
      });
      expect(readdirSync(repo)).toEqual([]);
    },
  );
});

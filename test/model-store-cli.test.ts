/**
 * `fogline models push` and `fogline models versions` as a user runs them (fresh processes) against
 * a real cloud: a model directory pushed with its config.json, listed, and a truncated file refused
 * with the reason and exit 1.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FabricCloud, startFabricCloud, tempDir } from '@fogline/cloud/testing';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../cli/src/testing/run-fogline.ts';

let cloud: FabricCloud;
beforeAll(async () => {
  cloud = await startFabricCloud();
}, 120_000);
afterAll(() => cloud?.stop());

describe('fogline models push / versions (processes)', { timeout: 180_000 }, () => {
  it('pushes a model directory, lists it, and refuses a truncated file with the reason', async () => {
    const dir = join(tempDir('push'), 'digits-tiny');
    cpSync(join(DEFAULT_MODELS_DIR, 'digits-tiny'), dir, { recursive: true });
    const target = ['--data-dir', cloud.dataDir];

    const pushed = await fogline('models', 'push', dir, '--name', 'shop-tiny', ...target);
    expect(pushed.stderr).toBe('');
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/^stored shop-tiny@1 \(device, 36739 bytes, sha256 [0-9a-f]{64}\)/);

    const truncated = join(dir, 'truncated.onnx');
    const bytes = readFileSync(join(dir, '1', 'model.onnx'));
    writeFileSync(truncated, bytes.subarray(0, 1000));
    const bad = await fogline('models', 'push', truncated, '--name', 'shop-tiny', ...target);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/shop-tiny@2 model.onnx: onnxruntime cannot load it/);

    const list = await fogline('models', 'versions', 'shop-tiny', ...target);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/version\s+sha256\s+bytes\s+tier\s+status\s+created/);
    expect(list.stdout).toMatch(/\n1\s+[0-9a-f]{16}\s+36739\s+device\s+staged\s+20\d\d-/);
    expect(list.stdout).not.toMatch(/\n2\s/);
  });
});

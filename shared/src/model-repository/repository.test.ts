import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FoglineError } from '../core/errors.ts';
import {
  checkModelRepository,
  DEFAULT_MODELS_DIR,
  loadModelEntry,
  loadModelRepository,
  validateModelFile,
} from './index.ts';

const midConfig = () =>
  JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, 'digits-mid', 'config.json'), 'utf8'));

/** A scratch repository holding a copy of digits-mid under a config the test controls. */
function scratchRepo(mutate: (config: Record<string, unknown>) => void, name = 'digits-mid'): string {
  const dir = mkdtempSync(join(tmpdir(), 'fogline-repo-'));
  mkdirSync(join(dir, name, '1'), { recursive: true });
  copyFileSync(join(DEFAULT_MODELS_DIR, 'digits-mid', '1', 'model.onnx'), join(dir, name, '1', 'model.onnx'));
  const config = midConfig();
  config.name = name;
  mutate(config);
  writeFileSync(join(dir, name, 'config.json'), JSON.stringify(config));
  return dir;
}

async function loadError(dir: string): Promise<FoglineError> {
  try {
    const repo = await loadModelRepository(dir);
    for (const entry of repo.list()) await validateModelFile(entry);
  } catch (err) {
    expect(err).toBeInstanceOf(FoglineError);
    return err as FoglineError;
  }
  throw new Error('expected the repository to be rejected');
}

describe('model repository', () => {
  it('leaves a model served elsewhere (a "backend") to the cloud: listed by no tool, refused alone', async () => {
    const dir = scratchRepo(() => {});
    mkdirSync(join(dir, 'remote'));
    const backend = { kind: 'oip', url: 'http://triton:8000', model: 'resnet' };
    writeFileSync(
      join(dir, 'remote', 'config.json'),
      JSON.stringify({ name: 'remote', tier: 'cloud', backend }),
    );
    expect((await loadModelRepository(dir)).list().map((m) => m.name)).toEqual(['digits-mid']);
    await expect(loadModelEntry(dir, 'remote')).rejects.toThrow(
      'model "remote" has a "backend" (it is served by http://triton:8000); only the cloud serves such a model',
    );
    const check = await checkModelRepository(dir);
    expect(check.models.find((m) => m.name === 'remote')).toMatchObject({
      problems: [],
      servedBy: 'http://triton:8000',
    });
  });

  it('loads the committed digits zoo and every config matches its ONNX file', async () => {
    const repo = await loadModelRepository();
    const names = repo.list().map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['digits-tiny', 'digits-mid', 'digits-large']));
    for (const entry of repo.list()) {
      await validateModelFile(entry);
      expect(entry.modelPath()).toMatch(new RegExp(`${entry.name}/${entry.latestVersion}/model\\.onnx$`));
    }
    expect(repo.get('digits-large').config.tier).toBe('cloud');
  });

  it('names the unknown model and the known ones', async () => {
    const repo = await loadModelRepository();
    expect(() => repo.get('nope')).toThrow(/unknown model "nope" \(known: .*digits-mid/);
  });

  it('rejects an input name the ONNX file does not have, naming file and field', async () => {
    const err = await loadError(
      scratchRepo((c) => {
        (c.inputs as { name: string }[])[0]!.name = 'pixels';
      }),
    );
    expect(err.code).toBe('INVALID_ARG');
    expect(err.message).toMatch(
      /config\.json field "inputs".*model\.onnx.*"pixels" is not in the model \(it has image\)/,
    );
  });

  it('rejects a fixed dim that differs from the model', async () => {
    const err = await loadError(
      scratchRepo((c) => {
        (c.outputs as { shape: number[] }[])[0]!.shape = [-1, 12];
        c.labels = [];
      }),
    );
    expect(err.message).toMatch(/outputs\[0\]\.shape\[1\] is 12, the model's is 10/);
  });

  it('rejects a batch dim declared fixed when the model has a dynamic one', async () => {
    const err = await loadError(
      scratchRepo((c) => {
        (c.inputs as { shape: number[] }[])[0]!.shape = [8, 1, 28, 28];
      }),
    );
    expect(err.message).toMatch(/inputs\[0\]\.shape\[0\] is 8/);
  });

  it.each([
    [
      'tier',
      (c: Record<string, unknown>) => Object.assign(c, { tier: 'moon' }),
      /field "tier" must be one of device, edge, cloud/,
    ],
    [
      'max_batch_size',
      (c: Record<string, unknown>) => Object.assign(c, { max_batch_size: 0 }),
      /"max_batch_size" must be an integer >= 1/,
    ],
    [
      'routing.score',
      (c: Record<string, unknown>) => Object.assign(c, { routing: { score: 'vibes', threshold: 0.5 } }),
      /"routing\.score"/,
    ],
    [
      'routing.threshold',
      (c: Record<string, unknown>) => Object.assign(c, { routing: { score: 'maxprob', threshold: 5 } }),
      /"routing\.threshold" must be null, a number in \[0, 1\]/,
    ],
    [
      'name',
      (c: Record<string, unknown>) => Object.assign(c, { name: 'other' }),
      /"name" is "other" but the model directory is "digits-mid"/,
    ],
  ])('rejects a bad %s with the file and field in the message', async (_field, mutate, pattern) => {
    const dir = scratchRepo(() => {});
    const file = join(dir, 'digits-mid', 'config.json');
    const config = JSON.parse(readFileSync(file, 'utf8'));
    mutate(config);
    writeFileSync(file, JSON.stringify(config));
    const err = await loadError(dir);
    expect(err.message).toContain(file);
    expect(err.message).toMatch(pattern);
  });

  it('rejects a model directory whose name breaks the name rule (hidden, leading underscore), naming it', async () => {
    for (const name of ['.digits', '_digits']) {
      const err = await loadError(scratchRepo(() => {}, name));
      expect(err.code).toBe('INVALID_ARG');
      expect(err.message).toContain(name);
      expect(err.message).toMatch(/starting with a letter or digit/);
    }
  });

  it('rejects a config that is not JSON', async () => {
    const dir = scratchRepo(() => {});
    writeFileSync(join(dir, 'digits-mid', 'config.json'), '{ nope');
    expect((await loadError(dir)).message).toMatch(/config\.json: not valid JSON/);
  });
});

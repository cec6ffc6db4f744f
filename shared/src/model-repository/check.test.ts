import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkModelRepository } from './check.ts';
import { DEFAULT_MODELS_DIR } from './repository.ts';

describe('checkModelRepository', () => {
  it('passes the committed digits repository, every model and the cascade', async () => {
    const check = await checkModelRepository(DEFAULT_MODELS_DIR);
    expect(check.ok).toBe(true);
    expect(check.models.every((m) => m.problems.length === 0 && m.versions.length > 0)).toBe(true);
    expect(check.cascade).toEqual({
      models: { device: 'digits-tiny', edge: 'digits-mid-int8', cloud: 'digits-large' },
      problems: [],
    });
  });

  it('reports a config that does not parse and the cascade it leaves without a tier, in one run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fogline-check-'));
    for (const name of ['digits-tiny', 'digits-mid', 'digits-large']) {
      cpSync(join(DEFAULT_MODELS_DIR, name), join(dir, name), { recursive: true });
    }
    writeFileSync(join(dir, 'digits-large', 'config.json'), '{ "name": ');
    const check = await checkModelRepository(dir);
    expect(check.ok).toBe(false);
    expect(check.models.find((m) => m.name === 'digits-large')).toEqual({
      name: 'digits-large',
      tier: undefined,
      versions: [],
      problems: [
        {
          file: join(dir, 'digits-large', 'config.json'),
          field: '(file)',
          message: `${join(dir, 'digits-large', 'config.json')}: not valid JSON`,
        },
      ],
    });
    expect(check.models.filter((m) => m.problems.length === 0).map((m) => m.name)).toEqual([
      'digits-mid',
      'digits-tiny',
    ]);
    expect(check.cascade.problems).toEqual([
      expect.stringMatching(/has no cloud model .* \(not counted, their config is bad: digits-large\)/),
    ]);
  });
});

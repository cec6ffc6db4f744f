import { accuracyOf, predictSplit } from '@fogline/shared/digits';
import { loadModelRepository } from '@fogline/shared/model-repository';
import { describe, expect, it } from 'vitest';
import { runFogline as fogline } from './testing/run-fogline.ts';

describe('fogline CLI', () => {
  it('prints help for the program and its commands', async () => {
    const top = await fogline('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/models/);
    const evalHelp = await fogline('models', 'eval', '--help');
    expect(evalHelp.stdout).toMatch(/--data <dataset>/);
    expect(evalHelp.stdout).toMatch(/--strict/);
  });

  it('models eval --json reports the same accuracy as evaluating the model directly', async () => {
    const out = await fogline('models', 'eval', 'digits-tiny', '--data', 'calibration', '--json');
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout) as { accuracy: number; count: number; model: string };
    const repo = await loadModelRepository();
    const direct = accuracyOf(await predictSplit(repo.get('digits-tiny').modelPath(), 'calibration'));
    expect(report).toMatchObject({ model: 'digits-tiny', count: 1500, accuracy: direct.accuracy });
  });

  it('models list --json lists the three tiers', async () => {
    const out = await fogline('models', 'list', '--json');
    const rows = JSON.parse(out.stdout) as { name: string; tier: string }[];
    expect(rows.map((r) => r.tier)).toEqual(expect.arrayContaining(['device', 'edge', 'cloud']));
  });

  it('rejects a dataset that does not exist and an unknown model with a clear message and a non-zero exit', async () => {
    const badData = await fogline('models', 'eval', 'digits-mid', '--data', 'validation');
    expect(badData.code).toBe(1);
    expect(badData.stderr).toMatch(
      /dataset "validation" is neither a digits split \(train, calibration, test\), a shifted stream \(shift:…\) nor a readable file or folder/,
    );
    const unknown = await fogline('models', 'eval', 'digits-huge');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown model "digits-huge"/);
  });
});

import { describe, expect, it } from 'vitest';
import { readDeploymentDirective, readDeploymentReport } from './model-deployment.ts';

const sha256 = 'a'.repeat(64);
const directive = { id: 'd-1', model: 'digits-mid', version: 3, sha256, bytes: 1000 };

describe('deployment blocks', () => {
  it('reads a directive, with and without its gate', () => {
    expect(readDeploymentDirective(directive)).toEqual({ ok: true, value: directive });
    const gate = { shadowMs: 60_000, minPaired: 40, maxDrop: 0.05 };
    expect(readDeploymentDirective({ ...directive, gate })).toEqual({
      ok: true,
      value: { ...directive, gate },
    });
  });

  it('refuses a directive with a bad field, saying which', () => {
    const cases: [unknown, RegExp][] = [
      [null, /must be an object/],
      [{ ...directive, id: 'a b' }, /deployment\.id/],
      [{ ...directive, model: '../x' }, /deployment\.model/],
      // Names become directories of the edge (`<dataDir>/models/<name>/`): `.` and `..` would leave it.
      [{ ...directive, model: '..' }, /deployment\.model must be a model name/],
      [{ ...directive, model: '.' }, /deployment\.model must be a model name/],
      [
        { ...directive, device: { model: '..', version: 1, sha256, bytes: 9 } },
        /deployment\.device\.model must be a model name/,
      ],
      [{ ...directive, version: 0 }, /deployment\.version/],
      [{ ...directive, sha256: 'A'.repeat(64) }, /sha256/],
      [{ ...directive, bytes: 0 }, /bytes/],
      [{ ...directive, gate: { shadowMs: 1, minPaired: 0, maxDrop: 0.1 } }, /minPaired/],
      [{ ...directive, gate: { shadowMs: 1, minPaired: 5, maxDrop: 2 } }, /maxDrop/],
      [
        { ...directive, device: { model: 'digits-tiny', version: 1, sha256: 'x', bytes: 9 } },
        /device\.sha256/,
      ],
    ];
    for (const [raw, reason] of cases) {
      const read = readDeploymentDirective(raw);
      expect(read.ok).toBe(false);
      if (!read.ok) expect(read.reason).toMatch(reason);
    }
  });

  it('reads a report with progress, previous version, failure and gate counts', () => {
    const report = {
      id: 'd-1',
      model: 'digits-mid',
      version: 3,
      state: 'rolled_back',
      receivedBytes: 1000,
      totalBytes: 1000,
      previous: { model: 'digits-mid', version: 2 },
      failure: { kind: 'accuracy', message: 'agreement fell by 0.4' },
      gate: { paired: 40, newCorrect: 10, oldCorrect: 38 },
    };
    expect(readDeploymentReport(report)).toEqual({ ok: true, value: report });
    expect(readDeploymentReport({ ...report, state: 'done' }).ok).toBe(false);
    expect(readDeploymentReport({ ...report, failure: { kind: 'oops', message: 'x' } }).ok).toBe(false);
    expect(readDeploymentReport({ ...report, receivedBytes: -1 }).ok).toBe(false);
  });
});

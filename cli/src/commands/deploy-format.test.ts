/** How `fogline deploy status` names what each edge was asked to run, and draws a download's progress. */
import { describe, expect, it } from 'vitest';
import { desiredOf, progressBar } from './deploy.ts';

describe('deploy status rows', () => {
  const d = { model: 'digits-mid-int8', version: 3 };

  it('names the deployment for an edge that was sent it, whatever became of the deployment', () => {
    for (const state of ['canary', 'rolling', 'done', 'failed'] as const) {
      expect(desiredOf({ ...d, state }, { sent: true })).toBe('digits-mid-int8@3');
    }
  });

  it('says (waiting) while an unsent edge may still get it, (not sent) once the deployment has ended without it', () => {
    for (const state of ['staged', 'canary', 'rolling'] as const) {
      expect(desiredOf({ ...d, state }, { sent: false })).toBe('(waiting)');
    }
    for (const state of ['failed', 'rolled_back'] as const) {
      expect(desiredOf({ ...d, state }, { sent: false })).toBe('(not sent)');
    }
  });

  it('draws received over total bytes, capped at full', () => {
    expect(progressBar(1.2e6, 2.4e6, 10)).toBe('[#####-----]  50 % 1.2/2.4 MB');
    expect(progressBar(5e6, 2.4e6, 4)).toBe('[####] 100 % 5.0/2.4 MB');
    expect(progressBar(0, 0, 4)).toBe('[----]   0 % 0.0/0.0 MB');
  });
});

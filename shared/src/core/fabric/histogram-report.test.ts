import { describe, expect, it } from 'vitest';
import type { DriftReference } from '../field/drift-reference.ts';
import { isModelLabel } from '../names.ts';
import { driftModelOf, histogramReportBody, readHistogramReport } from './histogram-report.ts';

const reference: DriftReference = {
  score: 'margin',
  model: 'digits-tiny',
  version: 1,
  bins: [0, 0.5, 0.9, 1],
  reference: [0.3, 0.3, 0.4],
  records: 1500,
};
const good = {
  model: 'digits-tiny:1',
  score: 'margin',
  bins: [0, 0.5, 0.9, 1],
  counts: [10, 0, 490],
  count: 500,
  window_start_ms: 1_000,
  window_end_ms: 2_000,
} as const;

describe('histogram report body', () => {
  it('round-trips through JSON and matches its reference', () => {
    const body = JSON.parse(JSON.stringify(histogramReportBody(good)));
    expect(driftModelOf(reference)).toBe('digits-tiny:1');
    expect(readHistogramReport(body, reference)).toEqual({ ok: true, histogram: good });
  });

  it('refuses malformed bodies: wrong bin count, negative or fractional counts, a wrong sum', () => {
    for (const bad of [
      { ...good, counts: [10, 490] },
      { ...good, counts: [10, -1, 491] },
      { ...good, counts: [10, 0.5, 489.5] },
      { ...good, count: 499 },
      { ...good, counts: [0, 0, 0], count: 0 },
      { ...good, bins: [0, 0.9, 0.5, 1] },
      { ...good, score: 'logit' },
      { ...good, model: 'digits-tiny' },
      { ...good, window_end_ms: 500 },
      [good],
      null,
    ]) {
      expect(readHistogramReport(bad, reference)).toMatchObject({ ok: false, code: 'malformed' });
    }
    expect(() => histogramReportBody({ ...good, counts: [1, 2] })).toThrow(/counts/);
  });

  it('reads "model" by the shared label rule (isModelLabel): what it refuses is refused here too', () => {
    // A path, a hidden name, a wildcard, a non-ASCII name: not labels anywhere else in fogline.
    for (const model of [
      '../etc:1',
      '.hidden:1',
      'digits/tiny:1',
      'digits+tiny:1',
      'digïts:1',
      'digits-tiny:1/2',
    ]) {
      expect(isModelLabel(model)).toBe(false);
      expect(readHistogramReport({ ...good, model })).toMatchObject({
        ok: false,
        code: 'malformed',
        reason: '"model" must be "name:version"',
      });
    }
    expect(readHistogramReport({ ...good, model: `${'m'.repeat(128)}:v1.2_3-a` }).ok).toBe(true);
  });

  it('refuses a histogram of another model, score kind or bins than the reference', () => {
    expect(readHistogramReport({ ...good, model: 'digits-tiny:2' }, reference)).toMatchObject({
      ok: false,
      code: 'other-model',
    });
    expect(readHistogramReport({ ...good, score: 'maxprob' }, reference)).toMatchObject({
      ok: false,
      code: 'other-score',
    });
    expect(readHistogramReport({ ...good, bins: [0, 0.6, 0.9, 1] }, reference)).toMatchObject({
      ok: false,
      code: 'other-bins',
    });
    // Without a reference only the shape is checked.
    expect(readHistogramReport({ ...good, model: 'other:7' }).ok).toBe(true);
  });
});

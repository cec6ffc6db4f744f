import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordsNeeded, requestsNeeded } from './records-needed.ts';
import { wilsonBounds } from './wilson.ts';

describe('records a decision needs', () => {
  it.each([
    // Checked by a linear search over n in Python on the same Wilson formula.
    [0, 1277],
    [0.005, 3388],
    [0.01, 5477],
    [0.02, 9592],
    [0.05, 21423],
  ])('baseline disagreement %f, margin 0.3 pp: %i records', (baseline, records) => {
    expect(recordsNeeded(baseline, 0.003)).toBe(records);
  });

  it('is the fewest records whose upper bound excludes baseline + margin', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.double({ min: 0.001, max: 0.1, noNaN: true }),
        (d0, m) => {
          const n = recordsNeeded(d0, m);
          expect(wilsonBounds(d0, n).high).toBeLessThan(d0 + m);
          if (n > 1) expect(wilsonBounds(d0, n - 1).high).toBeGreaterThanOrEqual(d0 + m);
        },
      ),
    );
  });

  it('needs more records for a smaller margin', () => {
    expect(recordsNeeded(0.01, 0.001)).toBeGreaterThan(recordsNeeded(0.01, 0.003));
  });

  it('in requests at an audit rate: records / rate, rounded up', () => {
    expect(requestsNeeded(5477, 0.02)).toBe(273_850);
    expect(requestsNeeded(5477, 0.2)).toBe(27_385);
    expect(() => requestsNeeded(10, 0)).toThrow(/\(0, 1\]/);
  });

  it('refuses a baseline or margin outside [0, 1)', () => {
    expect(() => recordsNeeded(1, 0.003)).toThrow(/baseline/);
    expect(() => recordsNeeded(0.01, 0)).toThrow(/margin/);
    expect(() => recordsNeeded(0.999, 0.003)).toThrow(/margin/);
  });
});

describe('docs/field-accuracy.md', () => {
  it("states this function's output in its records-needed table", () => {
    const docs = readFileSync(new URL('../../../../docs/field-accuracy.md', import.meta.url), 'utf8');
    const number = (s: string) => Number(s.replaceAll(',', ''));
    const rows = [...docs.matchAll(/^\| ([\d.]+) % \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|$/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(5);
    for (const [, d0, records, at2, at5, at20] of rows) {
      const n = recordsNeeded(Number(d0) / 100, 0.003);
      expect(
        [records, at2, at5, at20].map((v) => number(v!)),
        `d0 = ${d0} %`,
      ).toEqual([n, requestsNeeded(n, 0.02), requestsNeeded(n, 0.05), requestsNeeded(n, 0.2)]);
    }
  });
});

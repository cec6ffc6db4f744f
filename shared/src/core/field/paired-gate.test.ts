import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgePairedGate, pairedDropInterval, pairsNeeded } from './paired-gate.ts';
import { Z_95, zForConfidence } from './wilson.ts';

const gate = { minPaired: 40, maxDrop: 0.05 };

describe("the paired drop's interval (Tango's score interval)", () => {
  it.each([
    // Checked against a profile-likelihood maximisation in Python (scipy) of the same statistic.
    [40, 14, 2, 0.117553, 0.470834],
    [44, 9, 2, 0.013177, 0.311607],
    [100, 7, 3, -0.025794, 0.11277],
  ])('n=%i, old only %i, new only %i: [%f, %f]', (n, b, c, lower, upper) => {
    const i = pairedDropInterval(n, b, c);
    expect(i.drop).toBeCloseTo((b - c) / n, 12);
    expect(i.lower).toBeCloseTo(lower, 5);
    expect(i.upper).toBeCloseTo(upper, 5);
  });

  it('with no discordant pairs: ±z²/(n + z²)', () => {
    const i = pairedDropInterval(40, 0, 0);
    expect(i.upper).toBeCloseTo((Z_95 * Z_95) / (40 + Z_95 * Z_95), 9);
    expect(i.lower).toBeCloseTo(-i.upper, 9);
  });

  it('contains the observed drop, stays in [-1, 1], and narrows as the same shares grow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, u, v) => {
          const b = Math.floor(u * n);
          const c = Math.floor(v * (n - b));
          const i = pairedDropInterval(n, b, c);
          expect(i.lower).toBeGreaterThanOrEqual(-1);
          expect(i.upper).toBeLessThanOrEqual(1);
          expect(i.lower).toBeLessThanOrEqual(i.drop);
          expect(i.upper).toBeGreaterThanOrEqual(i.drop);
          const wider = pairedDropInterval(4 * n, 4 * b, 4 * c);
          expect(wider.upper - wider.lower).toBeLessThanOrEqual(i.upper - i.lower + 1e-9);
        },
      ),
    );
  });

  it('with no pairs: [-1, 1]', () => {
    expect(pairedDropInterval(0, 0, 0)).toEqual({ drop: 0, lower: -1, upper: 1 });
  });
});

describe('judgePairedGate', () => {
  it('fails a clearly worse model and says so in one line', () => {
    const j = judgePairedGate({ paired: 40, newOnlyCorrect: 2, oldOnlyCorrect: 14, ...gate });
    expect(j.verdict).toBe('fail');
    expect(j.drop).toBeCloseTo(0.3, 12);
    expect(j.reason).toBe(
      'new model agrees 12/40 less often than the previous (drop 0.30, 95 % CI 0.12–0.47; bound 0.05): worse than the bound',
    );
    expect(j.reason).not.toContain('\n');
  });

  it('waits for minPaired however bad the model looks', () => {
    const j = judgePairedGate({ paired: 20, newOnlyCorrect: 0, oldOnlyCorrect: 20, ...gate });
    expect(j.verdict).toBe('pending');
    expect(j.reason).toContain('20/40 paired records so far');
  });

  it('passes once the upper bound is below maxDrop, pending while the interval straddles it', () => {
    expect(judgePairedGate({ paired: 40, newOnlyCorrect: 0, oldOnlyCorrect: 0, ...gate }).verdict).toBe(
      'pending',
    );
    const pass = judgePairedGate({ paired: 200, newOnlyCorrect: 3, oldOnlyCorrect: 2, ...gate });
    expect(pass.verdict).toBe('pass');
    expect(pass.reason).toMatch(
      /^new model agrees 1\/200 more often than the previous .*: within the bound$/,
    );
  });

  it('a lower confidence judges sooner', () => {
    const at = (confidence: number) =>
      judgePairedGate({
        paired: 40,
        newOnlyCorrect: 2,
        oldOnlyCorrect: 7,
        minPaired: 1,
        maxDrop: 0.02,
        confidence,
      });
    expect(at(0.95).verdict).toBe('pending');
    expect(at(0.8).verdict).toBe('fail');
    expect(at(0.8).reason).toContain('80 % CI');
  });

  it('identical models never fail, nor does a new model that is no worse on the pairs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 1000 }),
        fc.constantFrom(0.8, 0.9, 0.95, 0.99),
        (paired, u, maxDrop, minPaired, confidence) => {
          const b = Math.floor((u * paired) / 2);
          const same = judgePairedGate({
            paired,
            newOnlyCorrect: b,
            oldOnlyCorrect: b,
            minPaired,
            maxDrop,
            confidence,
          });
          expect(same.verdict).not.toBe('fail');
          const better = judgePairedGate({
            paired,
            newOnlyCorrect: b + (paired % 2),
            oldOnlyCorrect: b,
            minPaired,
            maxDrop,
            confidence,
          });
          expect(better.verdict).not.toBe('fail');
        },
      ),
    );
  });

  it('a model with permuted labels (old ≥ 85 % right, new ≤ 20 %) fails within 40 pairs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 34, max: 40 }),
        fc.integer({ min: 0, max: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        (oldCorrect, newCorrect, u, maxDrop) => {
          const overlapLow = Math.max(0, oldCorrect + newCorrect - 40);
          const both = overlapLow + Math.floor(u * (Math.min(oldCorrect, newCorrect) - overlapLow + 1));
          const j = judgePairedGate({
            paired: 40,
            oldOnlyCorrect: oldCorrect - Math.min(both, newCorrect),
            newOnlyCorrect: newCorrect - Math.min(both, newCorrect),
            minPaired: 40,
            maxDrop,
          });
          expect(j.verdict).toBe('fail');
        },
      ),
    );
  });

  it('refuses counts that do not add up and bounds out of range', () => {
    const ok = { paired: 10, newOnlyCorrect: 1, oldOnlyCorrect: 1, ...gate };
    expect(() => judgePairedGate({ ...ok, newOnlyCorrect: 6, oldOnlyCorrect: 5 })).toThrow(/paired gate/);
    expect(() => judgePairedGate({ ...ok, paired: -1 })).toThrow(/paired must be an integer/);
    expect(() => judgePairedGate({ ...ok, paired: 1.5 })).toThrow(/paired must be an integer/);
    expect(() => judgePairedGate({ ...ok, maxDrop: 1.5 })).toThrow(/maxDrop/);
    expect(() => judgePairedGate({ ...ok, confidence: 1 })).toThrow(/confidence/);
  });
});

describe('zForConfidence', () => {
  it('is the two-sided normal quantile', () => {
    expect(zForConfidence(0.95)).toBe(Z_95);
    expect(zForConfidence(0.9)).toBeCloseTo(1.6448536269514722, 8);
    expect(zForConfidence(0.99)).toBeCloseTo(2.5758293035489004, 8);
    expect(zForConfidence(0.999)).toBeCloseTo(3.2905267314918945, 8);
  });
});

describe('pairsNeeded', () => {
  it('is the fewest pairs at which the expected table is judged the right way', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -0.2, max: 0.9, noNaN: true }),
        fc.double({ min: 0.005, max: 0.2, noNaN: true }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        (drop, maxDrop, extra) => {
          fc.pre(Math.abs(drop - maxDrop) > 0.002);
          const discordance = Math.min(1, Math.abs(drop) + extra);
          const n = pairsNeeded(drop, maxDrop, { discordance });
          const judged = (m: number) => {
            const c = (m * (discordance - drop)) / 2;
            const i = pairedDropInterval(m, Math.min((m * (discordance + drop)) / 2, m - c), c);
            return drop > maxDrop ? i.lower > maxDrop : i.upper < maxDrop;
          };
          expect(judged(n)).toBe(true);
          if (n > 1) expect(judged(n - 1)).toBe(false);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('is unbounded at drop = maxDrop, and refuses a discordance below |drop|', () => {
    expect(pairsNeeded(0.05, 0.05)).toBe(Number.POSITIVE_INFINITY);
    expect(() => pairsNeeded(0.1, 0.05, { discordance: 0.05 })).toThrow(/discordance/);
  });
});

describe('docs/field-accuracy.md', () => {
  it("states this function's output in its rollout-gate table", () => {
    const docs = readFileSync(new URL('../../../../docs/field-accuracy.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Rollout gate'));
    const rows = [...section.matchAll(/^\| (-?[\d.]+) pp \| ([\d.]+) pp \| ([\d.]+) pp \| ([\d,]+) \|/gm)];
    expect(rows.length).toBeGreaterThanOrEqual(6);
    for (const [, drop, maxDrop, discordance, pairs] of rows) {
      const n = pairsNeeded(Number(drop) / 100, Number(maxDrop) / 100, {
        discordance: Number(discordance) / 100,
      });
      expect(Number(pairs!.replaceAll(',', '')), `drop ${drop} pp`).toBe(n);
    }
  });
});

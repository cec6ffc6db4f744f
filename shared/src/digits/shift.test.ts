import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DIGIT_PIXELS, loadDigits } from './dataset.ts';
import { loadPrintedDigits } from './printed.ts';
import { collectStream, parseShift, type ShiftedStreamSpec, shiftedStream, sliceStream } from './shift.ts';
import { parseShiftSpec, SHIFT_PRESETS } from './shift-spec.ts';
import { inkOf } from './transforms.ts';

const sha = (a: Float32Array) => createHash('sha256').update(new Uint8Array(a.buffer)).digest('hex');
const spec = (seed: number): ShiftedStreamSpec => ({
  seed,
  segments: [
    { count: 300, shift: {} },
    { count: 400, shift: { rotate: 25, strokeWidth: 1, noise: 0.1 } },
    { count: 200, shift: { printed: true }, ramp: 100 },
  ],
});

describe('shiftedStream', () => {
  it('is deterministic by seed: same seed, same bytes; another seed, other bytes', () => {
    const a = collectStream(spec(3));
    const b = collectStream(spec(3));
    const c = collectStream(spec(4));
    expect(sha(a.images)).toBe(sha(b.images));
    expect(a.labels).toEqual(b.labels);
    expect(sha(c.images)).not.toBe(sha(a.images));
    expect(c.labels).not.toEqual(a.labels);
  });

  it('gives each segment its count, in order, with the labels of the images it drew', () => {
    const s = collectStream(spec(1));
    expect(s.count).toBe(900);
    const counts = [0, 0, 0];
    for (const k of s.segments) counts[k]!++;
    expect(counts).toEqual([300, 400, 200]);
    expect(s.segments.slice(299, 301)).toEqual(Uint16Array.from([0, 1]));
    // Unshifted items are test digits, unchanged, with their own label.
    const test = loadDigits('test');
    const index = new Map<string, number>();
    for (let i = 0; i < test.count; i++)
      index.set(sha(test.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)), i);
    for (let i = 0; i < 300; i++) {
      const at = index.get(sha(s.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)));
      expect(at).toBeDefined();
      expect(s.labels[i]).toBe(test.labels[at!]);
    }
  });

  it('walks the whole split before repeating an input (a seeded order per pass)', () => {
    const n = loadDigits('test').count;
    const s = collectStream({ seed: 9, segments: [{ count: n, shift: {} }] });
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add(sha(s.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)));
    expect(seen.size).toBeGreaterThan(n - 5); // the split may hold a few identical images
    const labels = loadDigits('test').labels;
    expect([...s.labels].sort()).toEqual([...labels].sort());
  });

  it('shifts what it says: thicker strokes add ink, printed draws printed digits', () => {
    const plain = collectStream({ seed: 2, segments: [{ count: 200, shift: {} }] });
    const thick = collectStream({ seed: 2, segments: [{ count: 200, shift: { strokeWidth: 1 } }] });
    expect(inkOf(thick.images)).toBeGreaterThan(1.3 * inkOf(plain.images));
    const printed = loadPrintedDigits();
    const fonts = new Set<string>();
    for (let i = 0; i < printed.count; i++)
      fonts.add(sha(printed.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)));
    const p = collectStream({ seed: 2, segments: [{ count: 50, shift: { printed: true } }] });
    for (let i = 0; i < 50; i++)
      expect(fonts.has(sha(p.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)))).toBe(true);
  });

  it('a repeat of an input gets fresh parameters', () => {
    const one = loadDigits('test').count;
    const s = collectStream({ seed: 5, segments: [{ count: 2 * one, shift: { rotate: [10, 30] } }] });
    const first = new Set<string>();
    for (let i = 0; i < one; i++) first.add(sha(s.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)));
    let same = 0;
    for (let i = one; i < 2 * one; i++)
      if (first.has(sha(s.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)))) same++;
    expect(same).toBe(0);
  });

  it('a ramp mixes the previous shift in, less and less', () => {
    const s = collectStream({
      seed: 8,
      segments: [
        { count: 100, shift: {} },
        { count: 1000, shift: { rotate: 30 }, ramp: 800 },
      ],
    });
    const newShare = (from: number, to: number) =>
      s.shiftOf.slice(from, to).filter((k) => k === 1).length / (to - from);
    expect(newShare(100, 300)).toBeLessThan(0.35);
    expect(newShare(700, 900)).toBeGreaterThan(0.65);
    expect(newShare(900, 1100)).toBe(1);
    expect([...s.segments.slice(100)].every((k) => k === 1)).toBe(true);
  });

  it('the generator and the arrays agree item by item', () => {
    const arrays = collectStream(spec(6));
    let n = 0;
    for (const item of shiftedStream(spec(6))) {
      expect(item.label).toBe(arrays.labels[item.index]);
      expect(sha(item.image)).toBe(
        sha(arrays.images.slice(item.index * DIGIT_PIXELS, (item.index + 1) * DIGIT_PIXELS)),
      );
      n++;
    }
    expect(n).toBe(900);
  });

  it('a slice is the items of a window, in place', () => {
    const s = collectStream(spec(6));
    const w = sliceStream(s, 250, 350);
    expect(w.count).toBe(100);
    expect(w.labels).toEqual(s.labels.slice(250, 350));
    expect(w.images).toEqual(s.images.slice(250 * DIGIT_PIXELS, 350 * DIGIT_PIXELS));
    expect([...new Set(w.segments)]).toEqual([0, 1]);
    expect(() => sliceStream(s, 800, 901)).toThrow(RangeError);
  });

  it('refuses bad specs with one line', () => {
    expect(() => collectStream({ seed: 1.5, segments: [{ count: 1, shift: {} }] })).toThrow(
      /seed must be an integer/,
    );
    expect(() => collectStream({ seed: 1, segments: [] })).toThrow(/at least one segment/);
    expect(() => collectStream({ seed: 1, segments: [{ count: 0, shift: {} }] })).toThrow(
      /count must be a positive/,
    );
    expect(() => collectStream({ seed: 1, segments: [{ count: 5, shift: {}, ramp: 6 }] })).toThrow(
      /ramp must be/,
    );
    expect(() => parseShift({ rotate: 500 })).toThrow(/shift.rotate must be .* within \[0, 180\]/);
    expect(() => parseShift({ noise: [0.3, 0.1] })).toThrow(/shift.noise/);
    expect(() => parseShift({ wobble: 1 })).toThrow(/unknown shift field "wobble"/);
    expect(() => parseShift(JSON.parse('{"constructor": 1}'))).toThrow(/unknown shift field "constructor"/);
    expect(() => parseShift({ printed: 'yes' })).toThrow(/printed must be true or false/);
  });
});

describe('parseShiftSpec', () => {
  it('reads a preset, fields, overrides, count and seed', () => {
    const p = parseShiftSpec('shift:rotated@seed=3');
    expect(p.seed).toBe(3);
    expect(p.shift).toEqual(SHIFT_PRESETS.rotated);
    expect(p.segments).toEqual([{ count: loadDigits('test').count, shift: p.shift }]);
    const q = parseShiftSpec('shift:printed,noise=0.05..0.1,count=250,source=calibration');
    expect(q).toMatchObject({ seed: 1, source: 'calibration', shift: { printed: true, noise: [0.05, 0.1] } });
    expect(q.segments[0]!.count).toBe(250);
    expect(parseShiftSpec('shift:rotate=20,strokeWidth=-1').shift).toEqual({ rotate: 20, strokeWidth: -1 });
  });

  it('every preset is a valid shift', () => {
    for (const [name, shift] of Object.entries(SHIFT_PRESETS))
      expect(parseShiftSpec(`shift:${name}`).shift).toEqual(shift);
  });

  it('refuses what it cannot read with one line naming the spec', () => {
    const bad: [string, RegExp][] = [
      ['shift:wobbly', /dataset "shift:wobbly": "wobbly" is not a preset \(rotated, /],
      ['shift:toString', /"toString" is not a preset/],
      ['shift:rotate=20,rotated', /"rotated" is not a preset .* nor field=value/],
      ['shift:rotate=abc', /rotate must be a number or min..max, got "abc"/],
      ['shift:rotate=1..2..3', /rotate must be a number or min..max/],
      ['shift:rotate=400', /shift.rotate must be .* within \[0, 180\]/],
      ['shift:rotated@seed=x', /seed must be an integer ≥ 0, got "x"/],
      ['shift:rotated@3', /after "@" comes seed=<n>/],
      ['shift:rotated,count=0', /count must be an integer ≥ 1/],
      ['shift:rotated,source=dev', /source must be one of train, calibration, test/],
      ['shift:printed=maybe', /printed must be true or false/],
      ['shift:zoom=2', /unknown field "zoom"/],
      ['shift:toString=2', /unknown field "toString"/],
    ];
    for (const [text, line] of bad) expect(() => parseShiftSpec(text), text).toThrow(line);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../core/seeded-random.ts';
import { DIGIT_PIXELS, loadDigits } from './dataset.ts';
import { affine, blur, gaussianNoise, inkOf, rotate, strokeWidth, translate, zoom } from './transforms.ts';

const test = loadDigits('test');
const digit = (i: number) => test.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);
const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
const inRange = (a: Float32Array) => a.every((v) => v >= 0 && v <= 1);
/** Centre of mass of the ink, (x, y). */
function centreOf(image: Float32Array): [number, number] {
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < DIGIT_PIXELS; i++) {
    sx += (i % 28) * image[i]!;
    sy += Math.floor(i / 28) * image[i]!;
  }
  const ink = inkOf(image);
  return [sx / ink, sy / ink];
}

describe('digit transforms', () => {
  it('are the identity at 0 (and scale 1)', () => {
    const d = digit(3);
    for (const out of [rotate(d, 0), zoom(d, 1), translate(d, 0, 0), strokeWidth(d, 0), blur(d, 0)]) {
      expect(maxDiff(out, d)).toBeLessThan(1e-6);
    }
    expect(maxDiff(gaussianNoise(d, 0, seededRandom(1)), d)).toBe(0);
  });

  it('rotation by 90° four times gives the digit back, and 90° moves the ink a quarter turn', () => {
    const d = digit(7);
    let out: Float32Array = d;
    for (let i = 0; i < 4; i++) out = rotate(out, 90);
    expect(maxDiff(out, d)).toBeLessThan(1e-5);
    // A pixel right of centre goes above it under a counter-clockwise quarter turn (y points down).
    const dot = new Float32Array(DIGIT_PIXELS);
    dot[13 * 28 + 20] = 1;
    expect(rotate(dot, 90)[(27 - 20) * 28 + 13]).toBeCloseTo(1, 6);
  });

  it('zoom in / out about the centre grows / shrinks the ink, keeping its place', () => {
    const d = digit(11);
    expect(inkOf(zoom(d, 1.3))).toBeGreaterThan(inkOf(d) * 1.3);
    expect(inkOf(zoom(d, 0.6))).toBeLessThan(inkOf(d) * 0.6);
    const [x0, y0] = centreOf(d);
    const [x1, y1] = centreOf(zoom(d, 0.7));
    expect(Math.abs(x1 - 13.5 - 0.7 * (x0 - 13.5))).toBeLessThan(0.3);
    expect(Math.abs(y1 - 13.5 - 0.7 * (y0 - 13.5))).toBeLessThan(0.3);
  });

  it('translation moves the centre of mass by (dx, dy)', () => {
    const d = digit(20);
    const [x0, y0] = centreOf(d);
    const [x1, y1] = centreOf(translate(d, 2.5, -1.5));
    expect(x1 - x0).toBeCloseTo(2.5, 1);
    expect(y1 - y0).toBeCloseTo(-1.5, 1);
  });

  it('dilation adds ink, erosion removes it, each step more', () => {
    const d = digit(5);
    const ink = inkOf(d);
    expect(inkOf(strokeWidth(d, 1))).toBeGreaterThan(ink * 1.3);
    expect(inkOf(strokeWidth(d, 2))).toBeGreaterThan(inkOf(strokeWidth(d, 1)));
    expect(inkOf(strokeWidth(d, -1))).toBeLessThan(ink * 0.7);
    expect(() => strokeWidth(d, 0.5)).toThrow(RangeError);
  });

  it('blur keeps the ink (away from the frame) and lowers the peak', () => {
    const d = digit(9);
    const out = blur(d, 1);
    expect(inkOf(out)).toBeCloseTo(inkOf(d), 0);
    expect(Math.max(...out)).toBeLessThan(Math.max(...d));
  });

  it('noise is reproducible by seed and has about the asked spread on mid-grey', () => {
    const grey = new Float32Array(DIGIT_PIXELS).fill(0.5);
    const a = gaussianNoise(grey, 0.1, seededRandom(4));
    expect(a).toEqual(gaussianNoise(grey, 0.1, seededRandom(4)));
    expect(a).not.toEqual(gaussianNoise(grey, 0.1, seededRandom(5)));
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - 0.5) ** 2, 0) / DIGIT_PIXELS);
    expect(sd).toBeGreaterThan(0.085);
    expect(sd).toBeLessThan(0.115);
  });

  it('every transform keeps values in [0, 1] whatever the parameters', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: test.count - 1 }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        fc.double({ min: 0.25, max: 4, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: -2, max: 2 }),
        (i, deg, scale, sigma, steps) => {
          const d = digit(i);
          const out = [
            affine(d, { rotateDeg: deg, scale, dx: deg / 30, dy: -deg / 40 }),
            strokeWidth(d, steps),
            blur(d, sigma * 2),
            gaussianNoise(d, sigma, seededRandom(i)),
          ];
          return out.every((o) => o.length === DIGIT_PIXELS && inRange(o));
        },
      ),
      { numRuns: 60 },
    );
  });
});

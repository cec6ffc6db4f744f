/**
 * Pure image transforms on one 28×28 digit (row-major, values in [0,1], ink = 1): the building blocks
 * of the shifted streams (shift.ts). Each returns a new image with values clamped to [0,1]; geometric
 * ones sample bilinearly about the image centre, with background (0) outside the frame. Randomness
 * (noise) comes in as a seeded generator, so every transform is reproducible.
 */
import { DIGIT_PIXELS } from './dataset.ts';

const SIDE = 28;
/** The centre of the frame in pixel coordinates (pixel i covers [i, i+1), its centre is i + 0.5). */
const CENTRE = (SIDE - 1) / 2;

export type DigitImage = Float32Array;

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

function pixel(image: DigitImage, x: number, y: number): number {
  return x < 0 || y < 0 || x >= SIDE || y >= SIDE ? 0 : (image[y * SIDE + x] ?? 0);
}

/** Bilinear sample at real coordinates (x, y); 0 outside the frame. */
function sample(image: DigitImage, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const top = pixel(image, x0, y0) * (1 - fx) + pixel(image, x0 + 1, y0) * fx;
  const bottom = pixel(image, x0, y0 + 1) * (1 - fx) + pixel(image, x0 + 1, y0 + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

export interface Affine {
  /** Counter-clockwise on screen, degrees. */
  readonly rotateDeg?: number;
  /** Zoom about the centre: > 1 enlarges the digit, < 1 shrinks it. */
  readonly scale?: number;
  /** Shift right / down, pixels. */
  readonly dx?: number;
  readonly dy?: number;
}

/** Rotation, zoom and translation in one resampling (inverse mapping, bilinear). */
export function affine(image: DigitImage, { rotateDeg = 0, scale = 1, dx = 0, dy = 0 }: Affine): DigitImage {
  if (!(scale > 0)) throw new RangeError(`scale must be > 0, got ${scale}`);
  const out = new Float32Array(DIGIT_PIXELS);
  const a = (rotateDeg * Math.PI) / 180;
  // Snap cos/sin so that multiples of 90° map pixel centres exactly onto pixel centres.
  const cos = Math.round(Math.cos(a) * 1e12) / 1e12;
  const sin = Math.round(Math.sin(a) * 1e12) / 1e12;
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      // Output (x, y) comes from the source point that the forward map sends there.
      const u = (x - CENTRE - dx) / scale;
      const v = (y - CENTRE - dy) / scale;
      // Screen y points down: the source is the output point turned back (clockwise on screen) by a.
      const sx = cos * u - sin * v + CENTRE;
      const sy = sin * u + cos * v + CENTRE;
      out[y * SIDE + x] = clamp01(sample(image, sx, sy));
    }
  }
  return out;
}

export const rotate = (image: DigitImage, degrees: number): DigitImage =>
  affine(image, { rotateDeg: degrees });
export const zoom = (image: DigitImage, scale: number): DigitImage => affine(image, { scale });
export const translate = (image: DigitImage, dx: number, dy: number): DigitImage => affine(image, { dx, dy });

/**
 * Stroke width: `steps` > 0 dilates (each pixel takes the maximum of itself and its 4 neighbours),
 * < 0 erodes (the minimum), |steps| times. 0 returns a copy.
 */
export function strokeWidth(image: DigitImage, steps: number): DigitImage {
  if (!Number.isInteger(steps)) throw new RangeError(`stroke width steps must be an integer, got ${steps}`);
  let current = Float32Array.from(image, clamp01);
  const pick = steps > 0 ? Math.max : Math.min;
  for (let s = 0; s < Math.abs(steps); s++) {
    const next = new Float32Array(DIGIT_PIXELS);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        next[y * SIDE + x] = pick(
          pixel(current, x, y),
          pixel(current, x - 1, y),
          pixel(current, x + 1, y),
          pixel(current, x, y - 1),
          pixel(current, x, y + 1),
        );
      }
    }
    current = next;
  }
  return current;
}

/** One standard normal draw from a uniform generator (Box–Muller). */
export function normalDraw(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** Adds independent Gaussian noise of standard deviation `sigma` to every pixel, then clamps. */
export function gaussianNoise(image: DigitImage, sigma: number, random: () => number): DigitImage {
  if (!(sigma >= 0)) throw new RangeError(`noise sigma must be >= 0, got ${sigma}`);
  return Float32Array.from(image, (v) => clamp01(v + (sigma === 0 ? 0 : sigma * normalDraw(random))));
}

/** Separable Gaussian blur of standard deviation `sigma` pixels (radius ⌈3σ⌉, background 0 outside). */
export function blur(image: DigitImage, sigma: number): DigitImage {
  if (!(sigma >= 0)) throw new RangeError(`blur sigma must be >= 0, got ${sigma}`);
  if (sigma === 0) return Float32Array.from(image, clamp01);
  const radius = Math.ceil(3 * sigma);
  // The centre weight is written out: for a tiny sigma, 0 / (2σ²) would be 0 / 0.
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) =>
    i === radius ? 1 : Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)),
  );
  const total = kernel.reduce((a, b) => a + b, 0);
  const weights = kernel.map((k) => k / total);
  const pass = (source: DigitImage, horizontal: boolean): DigitImage => {
    const out = new Float32Array(DIGIT_PIXELS);
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          acc +=
            (weights[k + radius] ?? 0) * (horizontal ? pixel(source, x + k, y) : pixel(source, x, y + k));
        }
        out[y * SIDE + x] = clamp01(acc);
      }
    }
    return out;
  };
  return pass(pass(image, true), false);
}

/** Total ink: the sum of pixel values. */
export function inkOf(image: DigitImage): number {
  let sum = 0;
  for (const v of image) sum += v;
  return sum;
}

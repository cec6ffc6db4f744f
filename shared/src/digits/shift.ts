/**
 * Shifted digit streams (docs/data.md "Shifted streams"): the digits of one split, repeated in a seeded
 * order and transformed per segment (rotation, zoom, stroke width, noise, blur, translation, other
 * fonts), for developing and testing against drift. Deterministic by seed: the same spec gives the same
 * bytes. Each repeat of an input gets fresh random parameters within its segment's ranges.
 */
import { FoglineError } from '../core/errors.ts';
import { seededRandom } from '../core/seeded-random.ts';
import { DIGIT_PIXELS, type DigitsData, type DigitsSplit, loadDigits } from './dataset.ts';
import { loadPrintedDigits } from './printed.ts';
import { affine, blur, type DigitImage, gaussianNoise, strokeWidth } from './transforms.ts';

/** One value, or a range drawn from uniformly. */
export type ShiftRange = number | readonly [number, number];

/** What a segment does to its inputs. Every field is optional; `{}` is no shift. */
export interface Shift {
  /** Rotation in degrees, turned either way (the sign is drawn at random). */
  readonly rotate?: ShiftRange;
  /** Zoom about the centre (> 1 enlarges, < 1 shrinks). */
  readonly scale?: ShiftRange;
  /** Stroke width in whole steps (+ thicker, − thinner); a drawn value is rounded. */
  readonly strokeWidth?: ShiftRange;
  /** Standard deviation of additive Gaussian pixel noise. */
  readonly noise?: ShiftRange;
  /** Standard deviation of a Gaussian blur, pixels. */
  readonly blur?: ShiftRange;
  /** Translation distance in pixels, in a random direction. */
  readonly translate?: ShiftRange;
  /** Other fonts: draw the inputs from the printed digits instead of the stream's split. */
  readonly printed?: boolean;
}

export const NO_SHIFT: Shift = Object.freeze({});

export interface StreamSegment {
  readonly count: number;
  readonly shift: Shift;
  /**
   * A gradual shift: over this segment's first `ramp` items the chance that an item takes this
   * segment's shift rises linearly to 1; the others take the previous segment's shift. 0: sudden.
   */
  readonly ramp?: number;
}

export interface ShiftedStreamSpec {
  /** The digits split the inputs come from (default `test`). */
  readonly source?: DigitsSplit;
  readonly seed: number;
  readonly segments: readonly StreamSegment[];
}

export interface ShiftedItem {
  /** Position in the stream. */
  readonly index: number;
  readonly image: DigitImage;
  readonly label: number;
  /** The segment the item belongs to. */
  readonly segment: number;
  /** The segment whose shift it carries (the previous one during a ramp, for some items). */
  readonly shiftOf: number;
}

/** A whole stream as arrays, ready for batched evaluation. */
export interface ShiftedStream extends DigitsData {
  readonly segments: Uint16Array;
  readonly shiftOf: Uint16Array;
}

const LIMITS: Record<Exclude<keyof Shift, 'printed'>, readonly [number, number]> = {
  rotate: [0, 180],
  scale: [0.25, 4],
  strokeWidth: [-3, 3],
  noise: [0, 1],
  blur: [0, 3],
  translate: [0, 14],
};
export const SHIFT_FIELDS = [...Object.keys(LIMITS), 'printed'] as readonly (keyof Shift)[];

function fail(message: string): never {
  throw new FoglineError('INVALID_ARG', message);
}

function checkRange(name: keyof typeof LIMITS, value: unknown): ShiftRange {
  const [lo, hi] = LIMITS[name];
  const pair = Array.isArray(value) ? value : [value, value];
  const [a, b] = pair as unknown[];
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi;
  if (pair.length !== 2 || !ok(a) || !ok(b) || a > b) {
    fail(`shift.${name} must be a number or [min, max] within [${lo}, ${hi}], got ${JSON.stringify(value)}`);
  }
  return Array.isArray(value) ? Object.freeze([a, b] as const) : a;
}

/** Validates an untrusted shift; unknown fields and out-of-range values are refused with one line. */
export function parseShift(raw: unknown): Shift {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('a shift must be an object');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (key === 'printed') {
      if (typeof value !== 'boolean')
        fail(`shift.printed must be true or false, got ${JSON.stringify(value)}`);
      out.printed = value;
    } else if (Object.hasOwn(LIMITS, key)) {
      out[key] = checkRange(key as keyof typeof LIMITS, value);
    } else {
      fail(`unknown shift field "${key}" (have: ${SHIFT_FIELDS.join(', ')})`);
    }
  }
  return Object.freeze(out) as Shift;
}

function draw(range: ShiftRange | undefined, random: () => number, fallback: number): number {
  if (range === undefined) return fallback;
  if (typeof range === 'number') return range;
  return range[0] + (range[1] - range[0]) * random();
}

/**
 * Applies a shift to one image with parameters drawn from `random`: stroke width, then rotation, zoom
 * and translation in one resampling, then blur, then noise.
 */
export function applyShift(image: DigitImage, shift: Shift, random: () => number): DigitImage {
  let out = image;
  const steps = Math.round(draw(shift.strokeWidth, random, 0));
  if (steps !== 0) out = strokeWidth(out, steps);
  const rotateDeg = draw(shift.rotate, random, 0) * (shift.rotate !== undefined && random() < 0.5 ? -1 : 1);
  const scale = draw(shift.scale, random, 1);
  const distance = draw(shift.translate, random, 0);
  const direction = shift.translate !== undefined ? 2 * Math.PI * random() : 0;
  if (rotateDeg !== 0 || scale !== 1 || distance !== 0) {
    out = affine(out, {
      rotateDeg,
      scale,
      dx: distance * Math.cos(direction),
      dy: distance * Math.sin(direction),
    });
  }
  const sigma = draw(shift.blur, random, 0);
  if (sigma > 0) out = blur(out, sigma);
  const noise = draw(shift.noise, random, 0);
  if (noise > 0) out = gaussianNoise(out, noise, random);
  return out === image ? Float32Array.from(image) : out;
}

/** Samples of one source in a seeded order, reshuffled on every pass. */
function deck(data: DigitsData, random: () => number): () => number {
  const order = Array.from({ length: data.count }, (_, i) => i);
  let at = order.length;
  return () => {
    if (at === order.length) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      at = 0;
    }
    return order[at++]!;
  };
}

function checkSpec(spec: ShiftedStreamSpec): void {
  if (!Number.isInteger(spec.seed)) fail(`stream seed must be an integer, got ${spec.seed}`);
  if (spec.segments.length === 0) fail('a stream needs at least one segment');
  spec.segments.forEach((s, k) => {
    if (!Number.isInteger(s.count) || s.count < 1) fail(`segment ${k}: count must be a positive integer`);
    const ramp = s.ramp ?? 0;
    if (!Number.isInteger(ramp) || ramp < 0 || ramp > s.count) {
      fail(`segment ${k}: ramp must be an integer in [0, count], got ${ramp}`);
    }
    parseShift(s.shift);
  });
}

/** The stream item by item. Validates the spec first (INVALID_ARG, one line). */
export function* shiftedStream(spec: ShiftedStreamSpec): Generator<ShiftedItem> {
  checkSpec(spec);
  const random = seededRandom(spec.seed);
  const split = loadDigits(spec.source ?? 'test');
  const splitDeck = deck(split, random);
  let printed: { data: DigitsData; next: () => number } | undefined;
  let index = 0;
  for (let k = 0; k < spec.segments.length; k++) {
    const segment = spec.segments[k]!;
    const ramp = segment.ramp ?? 0;
    for (let i = 0; i < segment.count; i++) {
      const shiftOf = k > 0 && i < ramp && random() >= (i + 1) / (ramp + 1) ? k - 1 : k;
      const shift = spec.segments[shiftOf]!.shift;
      let data: DigitsData = split;
      let at: number;
      if (shift.printed) {
        if (!printed) {
          const p = loadPrintedDigits();
          printed = { data: p, next: deck(p, random) };
        }
        data = printed.data;
        at = printed.next();
      } else {
        at = splitDeck();
      }
      const source = data.images.subarray(at * DIGIT_PIXELS, (at + 1) * DIGIT_PIXELS);
      const image = applyShift(source, shift, random);
      yield { index: index++, image, label: data.labels[at]!, segment: k, shiftOf };
    }
  }
}

/** The whole stream as arrays (count × 784 images, labels, segment and shift per item). */
export function collectStream(spec: ShiftedStreamSpec): ShiftedStream {
  checkSpec(spec);
  const count = spec.segments.reduce((n, s) => n + s.count, 0);
  const images = new Float32Array(count * DIGIT_PIXELS);
  const labels = new Uint8Array(count);
  const segments = new Uint16Array(count);
  const shiftOf = new Uint16Array(count);
  for (const item of shiftedStream(spec)) {
    images.set(item.image, item.index * DIGIT_PIXELS);
    labels[item.index] = item.label;
    segments[item.index] = item.segment;
    shiftOf[item.index] = item.shiftOf;
  }
  return { images, labels, count, segments, shiftOf };
}

/** Items [start, end) of a collected stream, as views (no copy): one window for prequential scoring. */
export function sliceStream(stream: ShiftedStream, start: number, end: number): ShiftedStream {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > stream.count || start > end) {
    throw new RangeError(`stream slice [${start}, ${end}) is not within [0, ${stream.count})`);
  }
  return {
    images: stream.images.subarray(start * DIGIT_PIXELS, end * DIGIT_PIXELS),
    labels: stream.labels.subarray(start, end),
    segments: stream.segments.subarray(start, end),
    shiftOf: stream.shiftOf.subarray(start, end),
    count: end - start,
  };
}

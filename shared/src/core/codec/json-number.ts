/**
 * A JSON number token read straight from UTF-8 bytes into the double JSON.parse gives for it: the
 * decimal value correctly rounded (round to nearest, ties to even). Most tokens are converted here
 * exactly; the rest go through Number() on the token's text, which is JSON.parse's own conversion.
 *
 * - At most 15 significant digits and a decimal exponent within ±22: the significand and the power
 *   of ten are both exact doubles, so one division or multiplication rounds correctly (Clinger).
 * - 16 to 23 significant digits and a negative exponent down to −22 (the text of a float32 value,
 *   e.g. `0.18000000715255737`): the significand held exactly as a sum of two doubles, divided by the
 *   power of ten with an exact remainder (Dekker's product); the quotient is kept only when the
 *   bounds of its error round to the same double, else Number() decides (none of the bench's
 *   float32 texts; about 2 % of the test's tokens built to lie next to a midpoint).
 */

/** 10^0 … 10^22: every one an exact double. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);
/** Veltkamp's splitter for doubles, 2^27 + 1. */
const SPLIT = 134217729;
/** Veltkamp's halves of each 10^k (at most 26 bits each, their products exact), and 1 / 10^k rounded. */
const POW10_HIGH = POW10.map((p) => SPLIT * p - (SPLIT * p - p));
const POW10_LOW = POW10.map((p, k) => p - POW10_HIGH[k]!);
const INVERSE_POW10 = POW10.map((p) => 1 / p);
const TWO_TO_25 = 2 ** 25;
const TWO_TO_MINUS_25 = 2 ** -25;
const TWO_TO_MINUS_49 = 2 ** -49;
/** Tokens Number() must convert are ASCII, so any UTF-8 decoder gives their text. */
const ascii = new TextDecoder();

const ZERO = 0x30;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const E_LOWER = 0x65;
const E_UPPER = 0x45;

/** Reads JSON number tokens out of one byte array. */
export class JsonNumberReader {
  /** The value of the last token read. */
  value = 0;
  private readonly view: DataView;

  constructor(private readonly b: Uint8Array) {
    this.view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /**
   * Reads the JSON number token (RFC 8259 §6) that starts at `at` and returns the index just past
   * it, or -1 when no valid token starts there. What follows the token is the caller's to check.
   */
  read(at: number): number {
    const { b } = this;
    const n = b.length;
    let i = at;
    const negative = i < n && b[i] === MINUS;
    if (negative) i++;
    // The significand's digits from the first non-zero one: up to 15 in `high`, then up to 8 in
    // `low` (`lowDigits` of them; the significand is high × 10^lowDigits + low while `kept`);
    // `digits` counts them all. They scale by 10^exponent.
    let high = 0;
    let low = 0;
    let lowDigits = 0;
    let digits = 0;
    let kept = true;
    let exponent = 0;
    let d = i < n ? b[i]! - ZERO : -1;
    if (d === 0) i++;
    else if (d > 0 && d <= 9) {
      for (; d >= 0 && d <= 9; d = ++i < n ? b[i]! - ZERO : -1) {
        if (digits < 15) high = high * 10 + d;
        else if (lowDigits < 8) {
          low = low * 10 + d;
          lowDigits++;
        } else kept = false;
        digits++;
      }
    } else return -1;
    if (i < n && b[i] === DOT) {
      const from = ++i;
      // Leading zeros of a fraction (`0.001`) are not significant.
      if (digits === 0) while (i < n && b[i] === ZERO) i++;
      // Four digits at a time (most of a float's text): bytes 0x30–0x39 have high nibble 3, and keep
      // it with 6 added; the four digit values are then paired up.
      for (; i + 4 <= n && lowDigits <= 4; i += 4, digits += 4) {
        const word = this.view.getUint32(i, true);
        if ((word & 0xf0f0f0f0) !== 0x30303030 || ((word + 0x06060606) & 0xf0f0f0f0) !== 0x30303030) break;
        const x = word - 0x30303030;
        const pairs = (x * 10 + (x >>> 8)) & 0x00ff00ff;
        const four = (pairs & 0xff) * 100 + (pairs >>> 16);
        if (lowDigits === 0 && digits <= 11) high = high * 10000 + four;
        else {
          low = low * 10000 + four;
          lowDigits += 4;
        }
      }
      for (d = i < n ? b[i]! - ZERO : -1; d >= 0 && d <= 9; d = ++i < n ? b[i]! - ZERO : -1) {
        if (lowDigits === 0 && digits < 15) high = high * 10 + d;
        else if (lowDigits < 8) {
          low = low * 10 + d;
          lowDigits++;
        } else kept = false;
        digits++;
      }
      if (i === from) return -1;
      exponent = from - i;
    }
    if (i < n && (b[i] === E_LOWER || b[i] === E_UPPER)) {
      i++;
      const sign = i < n ? b[i] : undefined;
      if (sign === MINUS || sign === PLUS) i++;
      const from = i;
      let e = 0;
      // Past 10^6 the value is 0 or Infinity whatever the digits: Number() is told the rest.
      for (d = i < n ? b[i]! - ZERO : -1; d >= 0 && d <= 9; d = ++i < n ? b[i]! - ZERO : -1) {
        if (e < 1e6) e = e * 10 + d;
      }
      if (i === from) return -1;
      exponent += sign === MINUS ? -e : e;
    }
    let value: number;
    if (digits === 0) value = 0;
    else if (!kept) value = Number.NaN;
    else if (lowDigits === 0) value = scaleExact(high, exponent);
    else value = scaleLong(high, low, lowDigits, exponent);
    // Number() parses what JSON.parse accepts the same way (a leading '-' included).
    this.value = Number.isNaN(value) ? Number(ascii.decode(b.subarray(at, i))) : negative ? -value : value;
    return i;
  }
}

/** `significand × 10^exponent` for an exact-double significand, or NaN when one rounding is not enough. */
function scaleExact(significand: number, exponent: number): number {
  if (exponent === 0) return significand;
  if (exponent > 0) return exponent <= 22 ? significand * POW10[exponent]! : Number.NaN;
  return exponent >= -22 ? significand / POW10[-exponent]! : Number.NaN;
}

/**
 * `(high × 10^lowDigits + low) × 10^exponent` for `high` of at most 15 digits and `low` of 1 to 8,
 * correctly rounded, or NaN when it cannot be shown here.
 */
function scaleLong(high: number, low: number, lowDigits: number, exponent: number): number {
  // The significand (< 10^23) as hi + lo exactly: with high = h1 × 2^25 + h0 (h1, h0 < 2^25), the
  // products h1 × 10^lowDigits and h0 × 10^lowDigits + low are exact (< 2^52), and so is the error
  // of their sum (Knuth's two-sum).
  const scale = POW10[lowDigits]!;
  const h1 = Math.floor(high * TWO_TO_MINUS_25);
  const a = h1 * scale * TWO_TO_25;
  const c = (high - h1 * TWO_TO_25) * scale + low;
  const hi = a + c;
  const av = hi - c;
  const lo = a - av + (c - (hi - av));
  if (lo === 0) return scaleExact(hi, exponent);
  if (exponent >= 0 || exponent < -22) return Number.NaN;
  return divideExact(hi, lo, -exponent);
}

/**
 * (hi + lo) / 10^k correctly rounded, for hi + lo > 0 held exactly (|lo| ≤ ulp(hi) / 2) and
 * 1 ≤ k ≤ 22; NaN when the quotient lies too near a midpoint between doubles to tell here.
 */
function divideExact(hi: number, lo: number, k: number): number {
  const d = POW10[k]!;
  const q1 = hi / d;
  // q1 × d = p + pe exactly (Dekker's product, JavaScript has no fused multiply-add). hi − q1 × d is
  // a double when q1 is hi / d rounded, and hi − p is exact (Sterbenz): so is the remainder.
  const p = q1 * d;
  const t = SPLIT * q1;
  const qh = t - (t - q1);
  const ql = q1 - qh;
  const dh = POW10_HIGH[k]!;
  const dl = POW10_LOW[k]!;
  const remainder = hi - p - (qh * dh - p + qh * dl + ql * dh + ql * dl);
  // The quotient is q1 + (remainder + lo) / 10^k exactly; q2 is that second term within 2^-51 of
  // itself (three roundings), so the quotient lies between q1 + (q2 − margin) and q1 + (q2 + margin).
  // Rounding is monotonic: where both round to the same double, so does the quotient.
  const q2 = (remainder + lo) * INVERSE_POW10[k]!;
  const margin = Math.abs(q2) * TWO_TO_MINUS_49;
  const candidate = q1 + q2;
  return q1 + (q2 - margin) === candidate && q1 + (q2 + margin) === candidate ? candidate : Number.NaN;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHeader } from './header.ts';
import { parseScannedHeader } from './header-data-scan.ts';
import { DEFAULT_CODEC_LIMITS } from './limits.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The path every header took before the scanner: the whole text decoded and parsed. */
function parseWhole(bytes: Uint8Array): { value: unknown } | { error: string } {
  try {
    return { value: JSON.parse(utf8.decode(bytes)) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The exact decimal digits of a positive double's upper midpoint (x + ulp/2), and its power of ten. */
function midpointDigits(x: number): { digits: string; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number(bits >> 52n);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const power = (biased === 0 ? 1 : biased) - 1075; // x = mantissa × 2^power
  const odd = 2n * mantissa + 1n; // midpoint = odd × 2^(power − 1)
  const p = power - 1;
  if (p >= 0) return { digits: (odd << BigInt(p)).toString(), exponent: 0 };
  return { digits: (odd * 5n ** BigInt(-p)).toString(), exponent: p };
}

/** A decimal (digits × 10^exponent) written as a JSON number in one of its forms. */
function decimalToken(digits: string, exponent: number, form: number, negative: boolean): string {
  const sign = negative ? '-' : '';
  const trimmed = digits.replace(/^0+(?=\d)/, '');
  if (form === 0) return `${sign}${trimmed}e${exponent}`;
  if (form === 1) return `${sign}${trimmed[0]}.${trimmed.slice(1) || '0'}E${exponent + trimmed.length - 1}`;
  // Plain decimal where the exponent allows, as a float's text usually is.
  const point = trimmed.length + exponent;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${trimmed}`;
  if (point >= trimmed.length) return `${sign}${trimmed}${'0'.repeat(point - trimmed.length)}`;
  return `${sign}${trimmed.slice(0, point)}.${trimmed.slice(point)}`;
}

/** Decimals a few digits either side of a midpoint between doubles, where rounding is hardest. */
const nearMidpoint = fc
  .tuple(
    fc.double({ min: 1e-9, max: 1e17, noNaN: true }),
    fc.integer({ min: 15, max: 25 }),
    fc.integer({ min: -2, max: 2 }),
    fc.nat(2),
    fc.boolean(),
  )
  .map(([x, keep, nudge, form, negative]) => {
    const { digits, exponent } = midpointDigits(x);
    const cut = Math.min(keep, digits.length);
    const head = BigInt(digits.slice(0, cut)) + BigInt(nudge);
    const text = (head < 0n ? 0n : head).toString();
    return decimalToken(text, exponent + digits.length - cut, form, negative);
  });

/** (1/a) mod 2^bits, for odd a (Newton's iteration: each step doubles the correct low bits). */
function inverseMod2(a: bigint, bits: number): bigint {
  const mask = (1n << BigInt(bits)) - 1n;
  let inverse = 1n;
  for (let k = 0; k < 7; k++) inverse = (inverse * (2n - a * inverse)) & mask;
  return inverse;
}

/**
 * Decimals of at most 23 digits over 10^15…10^22 that lie within 2^-85 of a midpoint M × 2^-(s+k)
 * (M odd, 54 bits) without being one: W = (M × 5^k − r) / 2^s, with M ≡ r / 5^k (mod 2^s) so that W
 * is an integer; W / 10^k is then r / (M × 5^k) below the midpoint, relatively. Where a double-double
 * quotient cannot tell which side it is on, only an exact check can.
 */
const nearTie = fc
  .tuple(
    fc.integer({ min: 15, max: 22 }),
    fc.integer({ min: -9, max: 9 }).filter((r) => r % 2 !== 0),
    fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }),
    fc.nat(2),
    fc.boolean(),
  )
  .map(([k, r, pick, form, negative]) => {
    const five = 5n ** BigInt(k);
    // The smallest s that keeps W under 10^23 for every 54-bit M.
    let s = 0;
    while (((1n << 54n) * five) >> BigInt(s) >= 10n ** 23n) s++;
    const modulus = 1n << BigInt(s);
    const low = (((BigInt(r) * inverseMod2(five, s)) % modulus) + modulus) % modulus;
    const steps = ((1n << 53n) - low) / modulus + 1n + (pick % ((1n << 53n) / modulus));
    const m = low + steps * modulus;
    const w = (m * five - BigInt(r)) / modulus;
    return decimalToken(w.toString(), -k, form, negative);
  });

/** Random digit strings: leading zeros in fractions, 1 to 30 digits, exponents that under- and overflow. */
const digitToken = fc
  .tuple(
    fc.boolean(),
    fc.oneof(fc.constant('0'), fc.stringMatching(/^[1-9][0-9]{0,22}$/)),
    fc.option(fc.stringMatching(/^[0-9]{1,30}$/), { nil: undefined }),
    fc.option(
      fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 })),
      {
        nil: undefined,
      },
    ),
  )
  .map(
    ([negative, whole, fraction, exp]) =>
      `${negative ? '-' : ''}${whole}${fraction === undefined ? '' : `.${fraction}`}${exp === undefined ? '' : `${exp[0]}${exp[1]}${exp[2]}`}`,
  );

const numberToken = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => JSON.stringify(v)),
  fc.float({ noNaN: true, noDefaultInfinity: true, min: 0, max: 1 }).map((v) => v.toPrecision(17)),
  fc.constantFrom('0', '-0', '-0.0', '0e5', '0.000', '1e22', '1e23', '9007199254740993', '1e-400', '1e400'),
  digitToken,
  nearMidpoint,
  nearTie,
);

const space = fc.stringMatching(/^[ \t\n\r]{0,3}$/);

/** `[a, b, …]` with random whitespace, or now and then what the scanner leaves to JSON.parse. */
const dataText = fc
  .oneof(
    { weight: 8, arbitrary: fc.array(fc.tuple(space, numberToken, space), { maxLength: 60 }) },
    {
      weight: 1,
      arbitrary: fc.array(fc.tuple(space, fc.constantFrom('true', '"1"', '[1,2]', 'null', '{}'), space)),
    },
  )
  .map((items) => `[${items.map(([a, v, b]) => `${a}${v}${b}`).join(',')}]`);

/** Strings with what could mislead a scanner: quotes, escapes, brackets, the keys it looks for. */
const trickyString = fc
  .oneof(
    fc.string({ maxLength: 8 }),
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.constantFrom('"data":[1,2]', 'inputs', '\\', '"', '[', ']', '{', '}', 'd\u00e4ta', '\u0000'),
  )
  .map((s) => JSON.stringify(s));

/** A key, written plainly or (now and then) with an escape JSON.parse reads the same. */
function key(name: string): fc.Arbitrary<string> {
  const escaped = `"\\u00${name.charCodeAt(0).toString(16)}${name.slice(1)}"`;
  return fc.oneof({ weight: 19, arbitrary: fc.constant(`"${name}"`) }, fc.constant(escaped));
}

/** Keys the scanner passes over: plain ones mostly, now and then one with escapes or odd bytes. */
const otherKey = fc.oneof(
  { weight: 12, arbitrary: fc.stringMatching(/^[a-z_]{1,8}$/).map((k) => `"${k}"`) },
  trickyString,
);

const member = (name: fc.Arbitrary<string>, value: fc.Arbitrary<string>) =>
  fc.tuple(space, name, space, value).map(([a, k, b, v]) => `${a}${k}${b}:${b}${v}`);

/** Members in a random order around the one that matters, which is now and then repeated. */
function object(main: fc.Arbitrary<string>, others: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.array(others, { maxLength: 3 }),
      fc.oneof({ weight: 12, arbitrary: main.map((m) => [m]) }, fc.constant([]), fc.tuple(main, main)),
      fc.array(others, { maxLength: 3 }),
      space,
    )
    .map(([before, mains, after, end]) => `{${[...before, ...mains, ...after].join(',')}${end}}`);
}

const input = object(
  member(key('data'), dataText),
  fc.oneof(
    member(fc.constant('"name"'), trickyString),
    member(fc.constant('"shape"'), fc.constantFrom('[1]', '[2,3]', '[]', '"x"')),
    member(fc.constant('"datatype"'), fc.constantFrom('"FP32"', '"INT8"', '"BOOL"')),
    member(otherKey, fc.oneof(trickyString, dataText, fc.constantFrom('{"data":[1]}', 'null'))),
  ),
);

const inputs = fc.array(fc.oneof({ weight: 9, arbitrary: input }, fc.constantFrom('7', '[]', 'null')), {
  minLength: 1,
  maxLength: 3,
});

const header = fc
  .tuple(
    space,
    object(
      member(
        key('inputs'),
        inputs.map((l) => `[${l.join(',')}]`),
      ),
      fc.oneof(
        member(fc.constant('"id"'), trickyString),
        member(
          fc.constant('"parameters"'),
          fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue()).map((p) => JSON.stringify(p)),
        ),
        member(otherKey, fc.oneof(trickyString, dataText)),
      ),
    ),
    space,
  )
  .map(([a, text, b]) => `${a}${text}${b}`);

/** Bytes of a header, now and then corrupted: a byte changed (bad UTF-8 included), cut or appended. */
const headerBytes = fc
  .tuple(
    header,
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(undefined) },
      fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(2)),
    ),
  )
  .map(([text, change]) => {
    const bytes = new TextEncoder().encode(text);
    if (change === undefined) return bytes;
    const [at, value, how] = change;
    const i = at % Math.max(1, bytes.length);
    if (how === 0) return bytes.subarray(0, i);
    if (how === 1) return Uint8Array.of(...bytes, value);
    const changed = bytes.slice();
    changed[i] = value;
    return changed;
  });

describe('the JSON header scanner', () => {
  it('gives JSON.parse of the whole text, bit for bit, or leaves the text to it', () => {
    let scanned = 0;
    let runs = 0;
    fc.assert(
      fc.property(headerBytes, (bytes) => {
        runs++;
        const fast = parseScannedHeader(bytes);
        if (fast === undefined) return;
        scanned++;
        // toEqual compares numbers with Object.is: -0 is not 0, and every bit of a double counts.
        expect(parseWhole(bytes)).toEqual({ value: fast });
      }),
      { numRuns: 3000 },
    );
    // Most generated headers must take the fast path, or this property says little.
    expect(scanned / runs).toBeGreaterThan(0.3);
  });

  it('reads every number token as JSON.parse does, hard roundings included', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(space, numberToken), { minLength: 1, maxLength: 30 }), (tokens) => {
        const text = `{"inputs":[{"data":[${tokens.map(([s, t]) => `${s}${t}`).join(',')}]}]}`;
        const bytes = new TextEncoder().encode(text);
        expect(parseScannedHeader(bytes)).toEqual(JSON.parse(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('parseHeader gives the same header and the same error with the scanner as without it', () => {
    const limits = DEFAULT_CODEC_LIMITS;
    const outcome = (run: () => unknown) => {
      try {
        return { value: run() };
      } catch (err) {
        return { error: (err as Error).message };
      }
    };
    fc.assert(
      fc.property(headerBytes, (bytes) => {
        // Padding past the scanner's minimum size; a leading BOM keeps the scanner out (the whole
        // text is decoded, BOM dropped, as before).
        const padded = Uint8Array.of(...bytes, ...new Uint8Array(600).fill(0x20));
        const whole = Uint8Array.of(0xef, 0xbb, 0xbf, ...padded);
        expect(parseScannedHeader(whole)).toBeUndefined();
        expect(outcome(() => parseHeader(padded, limits))).toEqual(outcome(() => parseHeader(whole, limits)));
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * The fast path of a JSON request header: the flat numeric `data` arrays of its `inputs` (784 numbers,
 * most of its bytes, for one digit) are read straight from the bytes, and only the rest of the header
 * goes through JSON.parse, each array cut out and a `0` left in its place. The header it gives is the
 * one JSON.parse gives for the whole text, or it gives none and the caller parses it as before: for
 * anything it does not follow (a top-level value that is not an object, an escaped or repeated
 * `inputs` or `data` key, `data` that is not a flat array of JSON numbers), or when the rest does not
 * parse (that error is the whole text's to report).
 *
 * Why the two agree: the scanner tells strings apart as JSON does (a quote outside a string opens one,
 * a backslash escapes the next byte, and outside strings it passes only bytes of JSON's own tokens), so
 * each array it cuts is one JSON value of `inputs[i].data`, holding no quote, and the `0` put there is
 * one too: the rest parses if and only if the whole text does, to the same value but for those arrays.
 * The cut bytes are ASCII, so the rest is valid UTF-8 if and only if the whole text is.
 */
import { JsonNumberReader } from './json-number.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const ZERO = 0x30;

const INPUTS = Uint8Array.from('inputs', (ch) => ch.charCodeAt(0));
const DATA = Uint8Array.from('data', (ch) => ch.charCodeAt(0));

/** One decoder for every rest (decoding is stateless without `stream: true`). */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** JSON whitespace (RFC 8259 §2): space, tab, line feed, carriage return. */
function skipSpace(b: Uint8Array, i: number): number {
  for (;;) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** Past the string that opens at `i`; -1 if it does not end (or, for a key, holds an escape). */
function skipString(b: Uint8Array, i: number, escapes: boolean): number {
  for (i++; i < b.length; i++) {
    const c = b[i];
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      if (!escapes) return -1;
      i++;
    }
  }
  return -1;
}

/** A byte of a JSON literal or number (`true`, `-1.5E3`): a–z, digits, `E`, `+`, `-`, `.`. */
function isTokenByte(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x45 ||
    c === 0x2b ||
    c === 0x2d ||
    c === 0x2e
  );
}

/** Past the JSON value at `i`, left for JSON.parse to check; -1 where it is none the scanner follows. */
function skipValue(b: Uint8Array, i: number): number {
  const first = b[i];
  if (first === QUOTE) return skipString(b, i, true);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    const start = i;
    while (i < b.length && isTokenByte(b[i]!)) i++;
    return i > start ? i : -1;
  }
  let depth = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c === QUOTE) {
      i = skipString(b, i, true);
      if (i < 0) return -1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    } else if (c !== COMMA && c !== COLON && !isTokenByte(c) && skipSpace(b, i) === i) return -1;
    i++;
  }
  return -1;
}

function keyIs(b: Uint8Array, start: number, end: number, key: Uint8Array): boolean {
  if (end - start !== key.length + 2) return false;
  for (let k = 0; k < key.length; k++) if (b[start + 1 + k] !== key[k]) return false;
  return true;
}

/** Scans one header; one scan per instance. */
class HeaderScan {
  /** Which input each cut array was the `data` of, and its numbers. */
  readonly arrays: { input: number; values: number[] }[] = [];
  /** Where each cut array starts and ends in the header. */
  readonly cuts: number[] = [];
  private readonly number: JsonNumberReader;

  constructor(private readonly b: Uint8Array) {
    this.number = new JsonNumberReader(b);
  }

  /**
   * The members of the object that opens at `i`, each value handed to `member(key start, key end,
   * value start)`, which returns where the value ends (-1: give up); past the object, or -1.
   */
  object(i: number, member: (keyStart: number, keyEnd: number, at: number) => number): number {
    const { b } = this;
    i = skipSpace(b, i + 1);
    if (b[i] === CLOSE_BRACE) return i + 1;
    for (;;) {
      if (b[i] !== QUOTE) return -1;
      const keyEnd = skipString(b, i, false);
      if (keyEnd < 0) return -1;
      const colon = skipSpace(b, keyEnd);
      if (b[colon] !== COLON) return -1;
      i = member(i, keyEnd, skipSpace(b, colon + 1));
      if (i < 0) return -1;
      i = skipSpace(b, i);
      if (b[i] === CLOSE_BRACE) return i + 1;
      if (b[i] !== COMMA) return -1;
      i = skipSpace(b, i + 1);
    }
  }

  /** The top-level object; -1 where the scanner gives up. */
  header(i: number): number {
    let seen = false;
    return this.object(i, (keyStart, keyEnd, at) => {
      if (!keyIs(this.b, keyStart, keyEnd, INPUTS)) return skipValue(this.b, at);
      if (seen) return -1;
      seen = true;
      return this.b[at] === OPEN_BRACKET ? this.inputs(at) : skipValue(this.b, at);
    });
  }

  /** The `inputs` array at `i`: its objects' `data` arrays are cut, anything else skipped. */
  private inputs(i: number): number {
    const { b } = this;
    i = skipSpace(b, i + 1);
    if (b[i] === CLOSE_BRACKET) return i + 1;
    for (let index = 0; ; index++) {
      i = b[i] === OPEN_BRACE ? this.input(i, index) : skipValue(b, i);
      if (i < 0) return -1;
      i = skipSpace(b, i);
      if (b[i] === CLOSE_BRACKET) return i + 1;
      if (b[i] !== COMMA) return -1;
      i = skipSpace(b, i + 1);
    }
  }

  private input(i: number, index: number): number {
    let seen = false;
    return this.object(i, (keyStart, keyEnd, at) => {
      if (!keyIs(this.b, keyStart, keyEnd, DATA)) return skipValue(this.b, at);
      if (seen) return -1;
      seen = true;
      return this.b[at] === OPEN_BRACKET ? this.numbers(at, index) : skipValue(this.b, at);
    });
  }

  /** A flat array of JSON numbers at `i`, cut out as input `index`'s data; -1 for anything else. */
  private numbers(i: number, index: number): number {
    const { b, number } = this;
    const start = i;
    const values: number[] = [];
    i = skipSpace(b, i + 1);
    if (b[i] !== CLOSE_BRACKET) {
      for (;;) {
        // `0,` needs no reader (most of a digit's pixels are 0).
        if (b[i] === ZERO && b[i + 1] === COMMA) {
          values.push(0);
          i = skipSpace(b, i + 2);
          continue;
        }
        i = number.read(i);
        if (i < 0) return -1;
        values.push(number.value);
        i = skipSpace(b, i);
        if (b[i] === CLOSE_BRACKET) break;
        if (b[i] !== COMMA) return -1;
        i = skipSpace(b, i + 1);
      }
    }
    this.cuts.push(start, i + 1);
    this.arrays.push({ input: index, values });
    return i + 1;
  }
}

/**
 * JSON.parse's value of the whole header, or undefined where the caller must parse the whole text
 * (the scanner does not follow it, or the rest does not parse).
 */
export function parseScannedHeader(bytes: Uint8Array): unknown {
  const start = skipSpace(bytes, 0);
  if (bytes[start] !== OPEN_BRACE) return undefined;
  const scan = new HeaderScan(bytes);
  if (scan.header(start) < 0 || scan.arrays.length === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(restOf(bytes, scan.cuts)));
  } catch {
    return undefined;
  }
  // The rest parsed, so each `0` stands where the scanner put it; checked all the same.
  const inputs = (json as { inputs?: unknown }).inputs;
  if (!Array.isArray(inputs)) return undefined;
  for (const { input, values } of scan.arrays) {
    const entry: unknown = inputs[input];
    if (typeof entry !== 'object' || entry === null || (entry as { data?: unknown }).data !== 0)
      return undefined;
    (entry as { data: unknown }).data = values;
  }
  return json;
}

/** `bytes` with each cut (start, end pairs) replaced by `0`. */
function restOf(bytes: Uint8Array, cuts: readonly number[]): Uint8Array {
  let cutLength = 0;
  for (let k = 0; k < cuts.length; k += 2) cutLength += cuts[k + 1]! - cuts[k]!;
  const rest = new Uint8Array(bytes.length - cutLength + cuts.length / 2);
  let from = 0;
  let to = 0;
  for (let k = 0; k < cuts.length; k += 2) {
    rest.set(bytes.subarray(from, cuts[k]), to);
    to += cuts[k]! - from;
    rest[to++] = ZERO;
    from = cuts[k + 1]!;
  }
  rest.set(bytes.subarray(from), to);
  return rest;
}

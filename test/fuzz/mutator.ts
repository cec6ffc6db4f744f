/**
 * fogline's own mutation fuzzer (beside fast-check's arbitraries): takes valid seeds (encoded
 * requests, replies, JSON messages, MQTT packets) and breaks them the ways networks and attackers
 * do: bit flips, interesting bytes, truncation, splices of two seeds, inserted and deleted runs,
 * and length fields that lie (little-endian u32 prefixes and decimal numbers in JSON text).
 * Deterministic from its seed.
 */
import { seededRandom } from '@fogline/shared';

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x22, 0x5b, 0x7b, 0x5c, 0x2c, 0x3a, 0x30];
const INTERESTING_U32 = [
  0, 1, 2, 3, 4, 7, 8, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
];
const INTERESTING_NUMBERS = [
  '-1',
  '0',
  '-0',
  '1e308',
  '1e999',
  '-1e999',
  '1e-400',
  '0.5',
  '4294967295',
  '4294967296',
  '9007199254740993',
  '99999999999999999999999',
  '2147483648',
  '65536',
  '1048577',
];
const INTERESTING_JSON = [
  'null',
  '[]',
  '{}',
  '""',
  '"x"',
  'true',
  '[[[[[[[[',
  '"\\u0000"',
  '"__proto__"',
  ',',
  '"',
];

const DIGIT = /[0-9]/;

export type MutationKind =
  | 'bit-flip'
  | 'byte-set'
  | 'truncate'
  | 'splice'
  | 'insert'
  | 'delete'
  | 'duplicate'
  | 'u32-lie'
  | 'number-lie'
  | 'json-fragment';

export const MUTATION_KINDS: readonly MutationKind[] = [
  'bit-flip',
  'byte-set',
  'truncate',
  'splice',
  'insert',
  'delete',
  'duplicate',
  'u32-lie',
  'number-lie',
  'json-fragment',
];

const encoder = new TextEncoder();

export class Mutator {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A copy of one of `seeds` with 1–4 mutations (the other seeds feed splices). */
  mutate(seeds: readonly Uint8Array[]): Uint8Array {
    let out = this.pick(seeds);
    const rounds = 1 + this.int(4);
    for (let r = 0; r < rounds; r++) out = this.apply(this.pick(MUTATION_KINDS), out, seeds);
    return out;
  }

  apply(kind: MutationKind, input: Uint8Array, seeds: readonly Uint8Array[]): Uint8Array {
    const data = Uint8Array.from(input);
    const n = data.length;
    const at = () => this.int(Math.max(1, n));
    switch (kind) {
      case 'bit-flip':
        if (n > 0) data[at()]! ^= 1 << this.int(8);
        return data;
      case 'byte-set':
        if (n > 0) data[at()] = this.random() < 0.7 ? this.pick(INTERESTING_BYTES) : this.int(256);
        return data;
      case 'truncate':
        return data.slice(0, this.int(n + 1));
      case 'splice': {
        const other = this.pick(seeds);
        return concat(data.subarray(0, this.int(n + 1)), other.subarray(this.int(other.length + 1)));
      }
      case 'insert': {
        const i = this.int(n + 1);
        return concat(data.subarray(0, i), this.bytes(1 + this.int(16)), data.subarray(i));
      }
      case 'delete': {
        const i = this.int(n + 1);
        return concat(data.subarray(0, i), data.subarray(Math.min(n, i + 1 + this.int(16))));
      }
      case 'duplicate': {
        const i = this.int(n + 1);
        const j = Math.min(n, i + 1 + this.int(64));
        return concat(data.subarray(0, j), data.subarray(i, j), data.subarray(j));
      }
      case 'u32-lie': {
        if (n < 4) return data;
        const pool = [...INTERESTING_U32, n, n - 4, n + 1, n * 2];
        const i = this.random() < 0.3 ? 0 : this.int(n - 3);
        new DataView(data.buffer).setUint32(i, this.pick(pool) >>> 0, this.random() < 0.8);
        return data;
      }
      case 'number-lie':
        return this.numberLie(data);
      case 'json-fragment': {
        const i = this.int(n + 1);
        const cut = Math.min(n, i + this.int(8));
        return concat(data.subarray(0, i), encoder.encode(this.pick(INTERESTING_JSON)), data.subarray(cut));
      }
    }
  }

  /** Replaces a run of ASCII digits (a length, a shape, a size in JSON text) with a lying number. */
  private numberLie(data: Uint8Array): Uint8Array {
    const starts: number[] = [];
    for (let i = 0; i < data.length; i++) {
      if (
        DIGIT.test(String.fromCharCode(data[i]!)) &&
        (i === 0 || !DIGIT.test(String.fromCharCode(data[i - 1]!)))
      ) {
        starts.push(i);
        if (starts.length > 256) break;
      }
    }
    if (starts.length === 0) return data;
    const start = this.pick(starts);
    let end = start;
    while (end < data.length && /[0-9.eE+-]/.test(String.fromCharCode(data[end]!))) end++;
    return concat(
      data.subarray(0, start),
      encoder.encode(this.pick(INTERESTING_NUMBERS)),
      data.subarray(end),
    );
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

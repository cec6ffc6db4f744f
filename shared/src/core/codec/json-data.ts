/**
 * OIP `$tensor_data` in JSON: a flat or nested (row-major) array of numbers, booleans or strings.
 * Decoding flattens and type-checks it; encoding always writes the flat form, which OIP allows.
 */
import { FoglineError } from '../errors.ts';
import type { Datatype, JsonTensorData, Tensor, TensorData } from '../oip.ts';

const INTEGER_RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

type SmallNumericDatatype = 'UINT8' | 'UINT16' | 'UINT32' | 'INT8' | 'INT16' | 'INT32' | 'FP32' | 'FP64';
type NumberArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;
const NUMBER_ARRAYS: Record<SmallNumericDatatype, new (length: number) => NumberArray> = {
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/** Flattens and type-checks JSON `data` into the in-memory form of `datatype`. */
export function readJsonData(
  datatype: Datatype,
  data: unknown,
  count: number,
  where: string,
  maxDepth: number,
): TensorData {
  if (datatype === 'FP16') {
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: FP16 has no JSON representation; send it as binary data`,
    );
  }
  if (Object.hasOwn(NUMBER_ARRAYS, datatype)) {
    return readNumbers(datatype as SmallNumericDatatype, data, count, where, maxDepth);
  }
  const flat: unknown[] = [];
  flatten(data, flat, count, where, Math.max(1, maxDepth));
  if (flat.length !== count) {
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: data has ${flat.length} elements but its shape needs ${count}`,
    );
  }
  if (datatype === 'BYTES') {
    const encoder = new TextEncoder();
    return flat.map((v, i) => {
      if (typeof v !== 'string') throw leafError(where, i, v, 'a string');
      return encoder.encode(v);
    });
  }
  if (datatype === 'BOOL') {
    return Uint8Array.from(flat, (v, i) => {
      if (typeof v !== 'boolean') throw leafError(where, i, v, 'true or false');
      return v ? 1 : 0;
    });
  }
  const numbers = flat.map((v, i) => checkNumber(datatype, v, i, where));
  return datatype === 'UINT64' ? BigUint64Array.from(numbers, BigInt) : BigInt64Array.from(numbers, BigInt);
}

/** A JSON number that `datatype` holds exactly, or the error that names element `index`. */
function checkNumber(datatype: Datatype, v: unknown, index: number, where: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw leafError(where, index, v, `a ${datatype} number`);
  const range = INTEGER_RANGE[datatype];
  if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
    throw leafError(where, index, v, `an integer in [${range[0]}, ${range[1]}] for ${datatype}`);
  }
  return v;
}

/**
 * The numbers of a small numeric datatype written straight into their typed array, with no array of
 * values in between (the JSON inputs of every request come this way). The errors are flatten's, then
 * the element count's, then the first bad element's, as for the other datatypes.
 */
function readNumbers(
  datatype: SmallNumericDatatype,
  data: unknown,
  count: number,
  where: string,
  maxDepth: number,
): TensorData {
  const fill = new NumberFill(new NUMBER_ARRAYS[datatype](count), INTEGER_RANGE[datatype], where);
  fill.add(data, Math.max(1, maxDepth));
  if (fill.length !== count) {
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: data has ${fill.length} elements but its shape needs ${count}`,
    );
  }
  if (fill.badAt >= 0) checkNumber(datatype, fill.bad, fill.badAt, where);
  return fill.values;
}

/** flatten, for numbers: the elements go into `values`; the first one checkNumber refuses is kept. */
class NumberFill {
  length = 0;
  badAt = -1;
  bad: unknown;

  constructor(
    readonly values: NumberArray,
    private readonly range: readonly [number, number] | undefined,
    private readonly where: string,
  ) {}

  add(node: unknown, depth: number): void {
    if (!Array.isArray(node)) throw new FoglineError('INVALID_ARG', `${this.where}: data must be an array`);
    const { values, range } = this;
    for (let i = 0; i < node.length; i++) {
      const item: unknown = node[i];
      if (Array.isArray(item)) {
        if (depth <= 1) {
          throw new FoglineError('INVALID_ARG', `${this.where}: data is nested deeper than its shape`);
        }
        this.add(item, depth - 1);
        continue;
      }
      if (this.length >= values.length) {
        throw new FoglineError(
          'INVALID_ARG',
          `${this.where}: data has more elements than its shape needs (${values.length})`,
        );
      }
      const ok =
        typeof item === 'number' &&
        Number.isFinite(item) &&
        (range === undefined || (Number.isInteger(item) && item >= range[0] && item <= range[1]));
      if (ok) values[this.length] = item;
      else if (this.badAt < 0) {
        this.badAt = this.length;
        this.bad = item;
      }
      this.length++;
    }
  }
}

function flatten(node: unknown, out: unknown[], count: number, where: string, depth: number): void {
  if (!Array.isArray(node)) {
    throw new FoglineError('INVALID_ARG', `${where}: data must be an array`);
  }
  for (const item of node) {
    if (Array.isArray(item)) {
      if (depth <= 1) throw new FoglineError('INVALID_ARG', `${where}: data is nested deeper than its shape`);
      flatten(item, out, count, where, depth - 1);
    } else {
      if (out.length >= count) {
        throw new FoglineError(
          'INVALID_ARG',
          `${where}: data has more elements than its shape needs (${count})`,
        );
      }
      out.push(item);
    }
  }
}

function leafError(where: string, index: number, value: unknown, expected: string): FoglineError {
  const shown = JSON.stringify(value) ?? String(value);
  return new FoglineError(
    'INVALID_ARG',
    `${where}: data[${index}] = ${shown.slice(0, 40)} is not ${expected}`,
  );
}

/** Renders a tensor's data as flat JSON; values JSON cannot carry exactly are refused. */
export function writeJsonData(tensor: Tensor, where: string): JsonTensorData {
  switch (tensor.datatype) {
    case 'FP16':
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: FP16 has no JSON representation; send it as binary data`,
      );
    case 'BYTES': {
      const decoder = new TextDecoder('utf-8', { fatal: true });
      return tensor.data.map((element, i) => {
        try {
          return decoder.decode(element);
        } catch (cause) {
          throw new FoglineError(
            'INVALID_ARG',
            `${where}: BYTES element ${i} is not UTF-8; send it as binary`,
            {
              cause,
            },
          );
        }
      });
    }
    case 'BOOL':
      return Array.from(tensor.data, (v) => v !== 0);
    case 'UINT64':
    case 'INT64':
      return Array.from(tensor.data as ArrayLike<bigint>, (v, i) => {
        const n = Number(v);
        if (!Number.isSafeInteger(n)) {
          throw new FoglineError(
            'INVALID_ARG',
            `${where}: element ${i} = ${v} exceeds 2^53; send it as binary`,
          );
        }
        return n;
      });
    default: {
      // A plain loop: every JSON response's outputs come this way (no callback per element).
      const data = tensor.data as ArrayLike<number>;
      const values: number[] = [];
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (!Number.isFinite(v)) {
          throw new FoglineError('INVALID_ARG', `${where}: element ${i} = ${v} cannot be written as JSON`);
        }
        values.push(v);
      }
      return values;
    }
  }
}

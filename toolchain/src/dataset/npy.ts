/**
 * NumPy `.npy` files (format versions 1.0, 2.0 and 3.0, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
 * magic `\x93NUMPY`, version, header length (u16 for v1, u32 for v2/v3), a Python dict literal
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (N, ...), }`, then the data. Strict: little-endian
 * (or byte-order-free) f4, f2, u1, i1, i4, i8 in C order only; anything else is refused by name.
 */
import { floatToHalfBits, halfBitsToFloat } from '@fogline/shared';

export const NPY_DTYPES = ['f4', 'f2', 'u1', 'i1', 'i4', 'i8'] as const;
export type NpyDtype = (typeof NPY_DTYPES)[number];

/** Elements in the narrowest array that holds them: f4 and f2 (decoded) as Float32Array, u1 as Uint8Array, i1 as Int8Array, i4 as Int32Array, i8 as Float64Array (beyond 2^53 refused). */
export type NpyValues = Float32Array | Uint8Array | Int8Array | Int32Array | Float64Array;

export interface NpyArray {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  readonly values: NpyValues;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const BYTES: Record<NpyDtype, number> = { f4: 4, f2: 2, u1: 1, i1: 1, i4: 4, i8: 8 };

/** Parses a .npy file; throws an Error whose message is the reason (the caller adds the path). */
export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.byteLength < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('not a .npy file');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new Error(`.npy format version ${major}.${bytes[7]} is not supported`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLength > bytes.byteLength) throw new Error('.npy header runs past the end of the file');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(
    bytes.subarray(start, start + headerLength),
  );
  const { dtype, shape } = parseHeader(header);
  const count = shape.reduce((n, d) => n * d, 1);
  const offset = start + headerLength;
  const needed = count * BYTES[dtype];
  if (bytes.byteLength - offset !== needed) {
    throw new Error(
      `holds ${bytes.byteLength - offset} data bytes; shape (${shape.join(', ')}) of ${dtype} needs ${needed}`,
    );
  }
  return { dtype, shape, values: readValues(view, offset, count, dtype) };
}

function field(header: string, key: string): string {
  const m = new RegExp(`'${key}'\\s*:\\s*('[^']*'|True|False|\\([^)]*\\))`).exec(header);
  if (!m) throw new Error(`.npy header has no '${key}'`);
  return m[1]!;
}

function parseHeader(header: string): { dtype: NpyDtype; shape: number[] } {
  const descr = field(header, 'descr').slice(1, -1);
  const order = descr[0];
  const code = descr.slice(1) as NpyDtype;
  if (
    !NPY_DTYPES.includes(code) ||
    !['<', '|', '='].includes(order ?? '') ||
    (order === '=' && BYTES[code] > 1)
  ) {
    throw new Error(
      `dtype '${descr}' is not supported (little-endian ${NPY_DTYPES.join(', ')}: save with .astype('<f4') for example)`,
    );
  }
  if (order === '|' && BYTES[code] > 1) throw new Error(`dtype '${descr}' has no byte order`);
  if (field(header, 'fortran_order') !== 'False')
    throw new Error('is in Fortran order; save a C-ordered array (np.ascontiguousarray)');
  const dims = field(header, 'shape')
    .slice(1, -1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const shape = dims.map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`.npy shape (${dims.join(', ')}) is not valid`);
  return { dtype: code, shape };
}

const ARRAY_OF: Record<NpyDtype, new (n: number) => NpyValues> = {
  f4: Float32Array,
  f2: Float32Array,
  u1: Uint8Array,
  i1: Int8Array,
  i4: Int32Array,
  i8: Float64Array,
};

function readValues(view: DataView, offset: number, count: number, dtype: NpyDtype): NpyValues {
  const out = new ARRAY_OF[dtype](count);
  const size = BYTES[dtype];
  for (let i = 0, at = offset; i < count; i++, at += size) {
    switch (dtype) {
      case 'f4':
        out[i] = view.getFloat32(at, true);
        break;
      case 'f2':
        out[i] = halfBitsToFloat(view.getUint16(at, true));
        break;
      case 'u1':
        out[i] = view.getUint8(at);
        break;
      case 'i1':
        out[i] = view.getInt8(at);
        break;
      case 'i4':
        out[i] = view.getInt32(at, true);
        break;
      case 'i8': {
        const v = view.getBigInt64(at, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
          throw new Error(`int64 element ${i} is beyond 2^53`);
        out[i] = Number(v);
        break;
      }
    }
  }
  return out;
}

/** A .npy v1.0 file of these values (for tests and tools that hand data to NumPy). */
export function encodeNpy(dtype: NpyDtype, shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const order = BYTES[dtype] === 1 ? '|' : '<';
  let header = `{'descr': '${order}${dtype}', 'fortran_order': False, 'shape': (${dims}), }`;
  // The data starts at a multiple of 64 bytes; the header ends with a newline.
  header += `${' '.repeat(63 - ((10 + header.length) % 64))}\n`;
  const out = new Uint8Array(10 + header.length + values.length * BYTES[dtype]);
  out.set(MAGIC);
  out[6] = 1;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  const write: Record<NpyDtype, (at: number, v: number) => void> = {
    f4: (at, v) => view.setFloat32(at, v, true),
    f2: (at, v) => view.setUint16(at, floatToHalfBits(v), true),
    u1: (at, v) => view.setUint8(at, v),
    i1: (at, v) => view.setInt8(at, v),
    i4: (at, v) => view.setInt32(at, v, true),
    i8: (at, v) => view.setBigInt64(at, BigInt(v), true),
  };
  for (let i = 0, at = 10 + header.length; i < values.length; i++, at += BYTES[dtype])
    write[dtype](at, values[i]!);
  return out;
}

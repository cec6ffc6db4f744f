/**
 * Raw tensor bytes, Triton binary tensor data extension: little-endian, row major, no stride or
 * padding; BOOL is one byte (0 or 1); a BYTES element is a u32le length followed by its bytes.
 * fogline runs on little-endian hosts only (x64, arm64, armv7, wasm), so typed arrays are views.
 */
import { FoglineError } from '../errors.ts';
import {
  DATATYPE_BYTE_SIZE,
  type Datatype,
  type NumericDatatype,
  type NumericTypedArray,
  type Tensor,
  type TensorData,
  TYPED_ARRAY_OF,
} from '../oip.ts';

/** Byte length of a tensor in the binary layout. `data` must already hold the right element count. */
export function binaryByteLength(tensor: Tensor): number {
  if (tensor.datatype === 'BYTES') {
    let total = 0;
    for (const element of tensor.data) total += 4 + element.length;
    return total;
  }
  return tensor.data.byteLength;
}

/** Checks that `data` is the typed array of `datatype` and holds `count` elements. */
export function checkTensorData(tensor: Tensor, count: number, where: string): void {
  if (tensor.datatype === 'BYTES') {
    if (!Array.isArray(tensor.data) || !tensor.data.every((e) => e instanceof Uint8Array)) {
      throw new FoglineError('INVALID_ARG', `${where}: BYTES data must be an array of Uint8Array`);
    }
  } else if (!(tensor.data instanceof TYPED_ARRAY_OF[tensor.datatype])) {
    const expected = TYPED_ARRAY_OF[tensor.datatype].name;
    throw new FoglineError('INVALID_ARG', `${where}: ${tensor.datatype} data must be a ${expected}`);
  }
  if (tensor.data.length !== count) {
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: data has ${tensor.data.length} elements but shape [${tensor.shape.join(',')}] needs ${count}`,
    );
  }
}

/** Writes a tensor's binary layout into `target` at `offset`; returns the offset after it. */
export function writeTensorBytes(tensor: Tensor, target: Uint8Array, offset: number): number {
  if (tensor.datatype !== 'BYTES') {
    const data: NumericTypedArray = tensor.data;
    target.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    return offset + data.byteLength;
  }
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength);
  let at = offset;
  for (const element of tensor.data) {
    view.setUint32(at, element.length, true);
    target.set(element, at + 4);
    at += 4 + element.length;
  }
  return at;
}

/**
 * Reads `count` elements of `datatype` from exactly `bytes`. Numeric data is a zero-copy view when
 * the byte offset is aligned to the element size, otherwise a copy; BYTES elements are subarrays.
 */
export function readTensorBytes(
  datatype: Datatype,
  bytes: Uint8Array,
  count: number,
  where: string,
): TensorData {
  if (datatype === 'BYTES') return readBytesElements(bytes, count, where);
  const size = DATATYPE_BYTE_SIZE[datatype];
  if (bytes.length !== count * size) {
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: binary_data_size is ${bytes.length} bytes but ${count} ${datatype} elements need ${count * size}`,
    );
  }
  const data = numericView(datatype, bytes, count);
  if (datatype === 'BOOL') {
    const bad = data.findIndex((v) => v > 1);
    if (bad >= 0) {
      throw new FoglineError('INVALID_ARG', `${where}: BOOL element ${bad} is ${data[bad]}, must be 0 or 1`);
    }
  }
  return data;
}

function numericView(datatype: NumericDatatype, bytes: Uint8Array, count: number): NumericTypedArray {
  const Ctor = TYPED_ARRAY_OF[datatype];
  if (bytes.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer, bytes.byteOffset, count);
  const copy = alignedCopy(bytes);
  return new Ctor(copy.buffer, copy.byteOffset, count);
}

function readBytesElements(bytes: Uint8Array, count: number, where: string): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Uint8Array[] = [];
  let at = 0;
  // Each element consumes at least 4 bytes, so this loop is bounded by the buffer as well as by count.
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.length) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: BYTES element ${i} of ${count}: length prefix runs past the ${bytes.length}-byte tensor data`,
      );
    }
    const length = view.getUint32(at, true);
    at += 4;
    if (length > bytes.length - at) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: BYTES element ${i} declares ${length} bytes but only ${bytes.length - at} remain`,
      );
    }
    elements.push(bytes.subarray(at, at + length));
    at += length;
  }
  if (at !== bytes.length) {
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: binary_data_size is ${bytes.length} bytes but its ${count} BYTES elements use ${at}`,
    );
  }
  return elements;
}

/**
 * Copies of unaligned tensors are bump-allocated from shared slabs, each tensor 8-byte aligned: an
 * MQTT request's tensor is usually unaligned (its payload starts wherever its packet did in the
 * socket's read), so a backing store of its own per tensor (or, from Node's 8 KB Buffer pool, a new
 * pool every two or three 3 kB tensors) was allocated and freed for nearly every request. A slab
 * serves ~20 such tensors. It stays alive while any tensor in it does, which costs at most one slab
 * per long-lived tensor among short-lived ones. A view into a slab never owns its whole buffer, so it
 * is never transferred to a worker (inference-engine.ts transfers only buffers a feed owns whole).
 */
const SLAB_BYTES = 64 * 1024;
/** Larger tensors get a buffer of their own. */
const SLAB_MAX_TENSOR_BYTES = SLAB_BYTES / 4;
let slab = new ArrayBuffer(0);
let slabUsed = 0;

function alignedCopy(bytes: Uint8Array): Uint8Array {
  const size = bytes.length;
  // A copy of its own: not `bytes.slice()`, which on a Node Buffer (an HTTP body) is a view at the
  // same unaligned offset.
  if (size > SLAB_MAX_TENSOR_BYTES) return new Uint8Array(bytes);
  if (slabUsed + size > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const copy = new Uint8Array(slab, slabUsed, size);
  copy.set(bytes);
  slabUsed += (size + 7) & ~7;
  return copy;
}

/**
 * Real values ↔ a model's tensor data, per its config's TensorSpec (docs/model-repository.md
 * "Tensors"): FP32 as is, FP16 as IEEE half bits (the codec's representation), UINT8/INT8 quantized
 * with the spec's `quantization` (q = round(x / scale) + zero_point, clamped; round half to even as
 * ONNX QuantizeLinear) or, without one, rounded and clamped. One home for these conversions: the
 * device encodes its prepared input with `toTensorData`, every tier scores outputs through
 * `classProbabilities`, so quantized and half outputs are dequantized before scoring.
 */
import { FoglineError } from './errors.ts';
import type { OutputKind, TensorDatatype, TensorQuantization } from './model-config.ts';
import type { TensorData } from './oip.ts';
import { softmax } from './routing/scores.ts';

/** The parts of a TensorSpec the conversions need. */
export interface ValueSpec {
  readonly datatype: TensorDatatype;
  readonly quantization?: TensorQuantization;
}

/**
 * onnxruntime's element type name for each config datatype (the same in onnxruntime-node and -web);
 * the one table every tier uses to build and check tensors.
 */
export const ORT_TYPE_OF = Object.freeze({
  FP32: 'float32',
  FP16: 'float16',
  UINT8: 'uint8',
  INT8: 'int8',
} as const satisfies Record<TensorDatatype, string>);
export type OrtTypeName = (typeof ORT_TYPE_OF)[TensorDatatype];

const INT_RANGE = { UINT8: [0, 255], INT8: [-128, 127] } as const;

/** Round half to even, as ONNX QuantizeLinear specifies. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Real values as the tensor data a model with this spec consumes. */
export function toTensorData(values: ArrayLike<number>, spec: ValueSpec): TensorData<TensorDatatype> {
  const n = values.length;
  switch (spec.datatype) {
    case 'FP32':
      return Float32Array.from(values);
    case 'FP16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToHalfBits(values[i]!);
      return out;
    }
    case 'UINT8':
    case 'INT8': {
      const [lo, hi] = INT_RANGE[spec.datatype];
      const q = spec.quantization;
      const out = spec.datatype === 'UINT8' ? new Uint8Array(n) : new Int8Array(n);
      for (let i = 0; i < n; i++) {
        const x = values[i]!;
        if (Number.isNaN(x)) throw new FoglineError('INVALID_ARG', `input value ${i} is NaN`);
        const v = q ? roundHalfEven(x / q.scale) + q.zero_point : roundHalfEven(x);
        out[i] = Math.min(hi, Math.max(lo, v));
      }
      return out;
    }
  }
}

/** Tensor data of this spec as real values (dequantized, half decoded); FP32 data is returned as is. */
export function toRealValues(data: TensorData, spec: ValueSpec): Float32Array {
  if (spec.datatype === 'FP32' && data instanceof Float32Array) return data;
  if (spec.datatype === 'FP16' && data instanceof Uint16Array) {
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = halfBitsToFloat(data[i]!);
    return out;
  }
  if (
    (spec.datatype === 'UINT8' && data instanceof Uint8Array) ||
    (spec.datatype === 'INT8' && data instanceof Int8Array)
  ) {
    const q = spec.quantization ?? { scale: 1, zero_point: 0 };
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = (data[i]! - q.zero_point) * q.scale;
    return out;
  }
  throw new FoglineError('INVALID_ARG', `tensor data does not hold ${spec.datatype} values`);
}

/**
 * Per-class probabilities of `k` classes starting at `offset` of an output's real values: softmax of
 * logits, or the probabilities themselves (renormalised, so a quantized output still sums to 1).
 */
export function classProbabilities(
  values: ArrayLike<number>,
  kind: OutputKind,
  offset = 0,
  k: number = values.length - offset,
): Float64Array {
  if (kind === 'logits') return softmax(values, offset, k);
  const p = new Float64Array(k);
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const v = values[offset + i]!;
    if (!(v >= 0)) throw new FoglineError('INVALID_ARG', `scores: probability ${i} is ${v}, not >= 0`);
    p[i] = v;
    sum += v;
  }
  if (sum === 0) return p.fill(1 / k);
  for (let i = 0; i < k; i++) p[i]! /= sum;
  return p;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of x, rounded to nearest even (overflow → ±Infinity, NaN kept). */
export function floatToHalfBits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  if (half >= 0x7c00) e = 0x1f;
  return sign | (e === 0x1f ? 0x7c00 : half);
}

/** The number an IEEE 754 binary16 bit pattern holds. */
export function halfBitsToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

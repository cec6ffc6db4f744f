/**
 * Linear quantization arithmetic (ONNX QuantizeLinear: y = saturate(round(x / scale) + zero_point),
 * round half to even; DequantizeLinear: x = (y - zero_point) * scale). Conventions follow
 * onnxruntime's QDQ format: activations uint8 asymmetric, weights int8 symmetric (zero point 0,
 * range ±127 so -128 is never used), bias int32 with scale = input_scale × weight_scale, zero point 0.
 */
import { roundHalfEven } from '@fogline/shared';

export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/**
 * uint8 asymmetric parameters covering [min, max]. The range is widened to contain 0 so that zero
 * (padding, ReLU floor) is exact, which onnxruntime also needs to drop a Relu before a Q node.
 */
export function activationParams(min: number, max: number): QuantParams {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  if (!(hi > lo)) return { scale: 1, zeroPoint: 0 };
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.min(255, Math.max(0, roundHalfEven(-lo / scale)));
  return { scale, zeroPoint };
}

export function quantizeUint8(x: number, p: QuantParams): number {
  return Math.min(255, Math.max(0, roundHalfEven(x / p.scale) + p.zeroPoint));
}

export interface QuantizedWeights {
  readonly values: Int8Array;
  /** One scale per channel along the axis, or a single scale for per-tensor quantization. */
  readonly scales: Float32Array;
}

/**
 * Symmetric int8 quantization of a weight tensor, per channel along `axis` or per tensor when
 * axis is undefined. `qmax` is 127, or 63 with reduced range (7-bit weights, which keeps the
 * u8×s8 pair sums of AVX2 VPMADDUBSW from saturating int16).
 */
export function quantizeWeights(
  w: Float32Array,
  dims: readonly number[],
  axis: number | undefined,
  qmax = 127,
): QuantizedWeights {
  const channels = axis === undefined ? 1 : (dims[axis] ?? 1);
  const inner = axis === undefined ? w.length : dims.slice(axis + 1).reduce((n, d) => n * d, 1);
  const channelOf = (i: number): number => (axis === undefined ? 0 : Math.floor(i / inner) % channels);
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(w[i]!));
  }
  // A scale of 0 is not allowed (QuantizeLinear divides by it): an all-zero channel gets scale 1.
  const scales = maxAbs.map((m) => (m > 0 ? m / qmax : 1));
  const values = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const q = roundHalfEven(w[i]! / scales[channelOf(i)]!);
    values[i] = Math.min(qmax, Math.max(-qmax, q));
  }
  return { values, scales };
}

/** Dequantized weight value i (for error estimates and tests). */
export function dequantizedWeight(
  q: QuantizedWeights,
  dims: readonly number[],
  axis: number | undefined,
  i: number,
): number {
  if (axis === undefined) return q.values[i]! * q.scales[0]!;
  const inner = dims.slice(axis + 1).reduce((n, d) => n * d, 1);
  return q.values[i]! * q.scales[Math.floor(i / inner) % (dims[axis] ?? 1)]!;
}

export interface QuantizedBias {
  readonly values: Int32Array;
  readonly scales: Float32Array;
  /** How many values hit the int32 limits (the bias is then not exact). */
  readonly saturated: number;
}

/** int32 bias for output channel c with scale inputScale × weightScales[c] (per-tensor: one scale). */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): QuantizedBias {
  const scales = new Float32Array(bias.length);
  const values = new Int32Array(bias.length);
  let saturated = 0;
  for (let c = 0; c < bias.length; c++) {
    const scale = inputScale * (weightScales.length === 1 ? weightScales[0]! : weightScales[c]!);
    scales[c] = scale;
    const q = roundHalfEven(bias[c]! / scale);
    const clamped = Math.min(2147483647, Math.max(-2147483648, q));
    if (clamped !== q) saturated++;
    values[c] = clamped;
  }
  return { values, scales, saturated };
}

import { roundHalfEven } from '@fogline/shared';
/** Quantization arithmetic (ONNX QuantizeLinear: round half to even, saturate) and range estimators. */
import { describe, expect, it } from 'vitest';
import { activationParams, quantizeBias, quantizeUint8, quantizeWeights } from './quant-params.ts';
import { HistogramObserver, MinMaxObserver } from './range-observer.ts';

describe('quantization parameters', () => {
  it('rounds half to even like QuantizeLinear', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, 2, 3]);
  });

  it('uint8 activations: the range always contains an exact zero', () => {
    const p = activationParams(-1, 3);
    expect(p.scale).toBeCloseTo(4 / 255, 12);
    expect(p.zeroPoint).toBe(64);
    expect(quantizeUint8(0, p)).toBe(p.zeroPoint);
    expect(activationParams(0.5, 2)).toEqual({ scale: 2 / 255, zeroPoint: 0 });
    expect(quantizeUint8(10, p)).toBe(255);
    expect(activationParams(0, 0)).toEqual({ scale: 1, zeroPoint: 0 });
  });

  it('int8 weights: one symmetric scale per channel along the given axis', () => {
    // [2, 3] matrix: rows differ 100× in magnitude.
    const w = Float32Array.of(1, -0.5, 0.25, 0.01, 0.03, -0.04);
    const rows = quantizeWeights(w, [2, 3], 0);
    expect(Array.from(rows.scales)).toEqual([Math.fround(1 / 127), Math.fround(0.04 / 127)]);
    expect(Array.from(rows.values)).toEqual([127, -64, 32, 32, 95, -127]);
    const cols = quantizeWeights(w, [2, 3], 1);
    expect(cols.scales).toHaveLength(3);
    expect(cols.values[0]).toBe(127);
    expect(quantizeWeights(w, [2, 3], undefined).scales).toHaveLength(1);
    expect(Math.max(...quantizeWeights(w, [2, 3], 0, 63).values)).toBe(63);
  });

  it('int32 bias: scale = input scale × weight scale of its channel', () => {
    const b = quantizeBias(Float32Array.of(0.5, -1), 0.1, Float32Array.of(0.01, 0.02));
    expect(b.scales[0]).toBeCloseTo(0.001, 9);
    expect(b.scales[1]).toBeCloseTo(0.002, 9);
    expect(Array.from(b.values)).toEqual([500, -500]);
    expect(b.saturated).toBe(0);
    expect(quantizeBias(Float32Array.of(1e9), 1e-3, Float32Array.of(1e-3)).saturated).toBe(1);
  });
});

describe('range observers', () => {
  const values = Float32Array.from({ length: 10001 }, (_, i) => i / 10000);

  it('min-max sees the whole range', () => {
    const o = new MinMaxObserver();
    o.observe(values.subarray(0, 5000));
    o.observe(values.subarray(5000));
    expect(o.range()).toEqual({ min: 0, max: 1 });
  });

  it('percentile clips the tails to within a bin of the exact quantile', () => {
    const h = new HistogramObserver(0, 1, 2048);
    h.observe(values);
    const r = h.range(99);
    expect(r.min).toBeCloseTo(0.01, 2);
    expect(r.max).toBeCloseTo(0.99, 2);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classProbabilities,
  floatToHalfBits,
  halfBitsToFloat,
  roundHalfEven,
  toRealValues,
  toTensorData,
} from './tensor-values.ts';

describe('tensor values', () => {
  it('encodes known halves exactly', () => {
    expect([1, -2, 0.5, 65504, 1e-8, 70000].map(floatToHalfBits)).toEqual([
      0x3c00, 0xc000, 0x3800, 0x7bff, 0, 0x7c00,
    ]);
    expect(halfBitsToFloat(0x0001)).toBe(2 ** -24);
    expect(Number.isNaN(halfBitsToFloat(floatToHalfBits(Number.NaN)))).toBe(true);
  });

  it('round-trips FP16 within half precision', () => {
    fc.assert(
      fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
        const back = halfBitsToFloat(floatToHalfBits(x));
        expect(Math.abs(back - x)).toBeLessThanOrEqual(Math.max(Math.abs(x) * 2 ** -11, 2 ** -25));
      }),
    );
  });

  it('quantizes with scale and zero point, rounding half to even and clamping', () => {
    const spec = { datatype: 'UINT8', quantization: { scale: 0.5, zero_point: 10 } } as const;
    expect(Array.from(toTensorData([0, 1.25, 0.75, -100, 1000], spec))).toEqual([10, 12, 12, 0, 255]);
    expect(Array.from(toRealValues(Uint8Array.of(10, 12, 0), spec))).toEqual([0, 1, -5]);
    expect(Array.from(toTensorData([-1.5, 200], { datatype: 'INT8' }))).toEqual([-2, 127]);
    expect(roundHalfEven(2.5)).toBe(2);
  });

  it('dequantizes before scoring, so a quantized output ranks classes like its real values', () => {
    const spec = { datatype: 'INT8', quantization: { scale: 0.1, zero_point: -20 } } as const;
    const real = toRealValues(Int8Array.of(-20, 10, 0), spec);
    expect(Array.from(real).map((v) => Math.round(v * 10) / 10)).toEqual([0, 3, 2]);
    const p = classProbabilities(real, 'probabilities');
    expect(Array.from(p).map((v) => Math.round(v * 100) / 100)).toEqual([0, 0.6, 0.4]);
    expect(classProbabilities([0, 0], 'logits')).toEqual(Float64Array.of(0.5, 0.5));
  });

  it('refuses data of another datatype than the spec says', () => {
    expect(() => toRealValues(Float32Array.of(1), { datatype: 'UINT8' })).toThrow(/UINT8/);
    expect(() => classProbabilities([-1, 2], 'probabilities')).toThrow(/not >= 0/);
  });
});

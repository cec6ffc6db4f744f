import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '../model-config.ts';
import { toRealValues } from '../tensor-values.ts';
import { readClassAnswer, servingInput } from './model-answer.ts';
import { encodeFabricRequest, readFabricRequest } from './request.ts';

const fp32: TensorSpec = { name: 'pixels', datatype: 'FP32', shape: [-1, 2, 2] };
const u8: TensorSpec = {
  name: 'x',
  datatype: 'UINT8',
  shape: [-1, 2, 2],
  quantization: { scale: 1 / 255, zero_point: 0 },
};
const real = Float32Array.of(0, 0.5, 1, 0.25);

describe('servingInput', () => {
  it("passes the model's own datatype through under the model's input name, whatever the request calls it", () => {
    const input = servingInput(
      { tensors: [{ name: 'image', datatype: 'FP32', shape: [1, 2, 2], data: real }] },
      fp32,
    );
    expect(input).toMatchObject({ name: 'pixels', datatype: 'FP32', shape: [1, 2, 2] });
    expect(input.data).toBe(real);
  });

  it('converts a quantized device input through real values into the datatype of the model', () => {
    const q = Uint8Array.of(0, 128, 255, 64);
    const payload = encodeFabricRequest({
      id: 'r1',
      replyTo: 'fogline/v1/device/d/reply',
      deadlineMs: 100,
      deviceScore: 0.1,
      input: { name: 'pixels', datatype: 'UINT8', shape: [1, 2, 2], data: q },
      inputQuantization: { scale: 1 / 255, zero_point: 0 },
    });
    const request = readFabricRequest(payload, { defaultDeadlineMs: 100, maxDeadlineMs: 100 });
    expect(request.inputQuantization).toEqual({ scale: 1 / 255, zero_point: 0 });
    const asFloat = servingInput(request, fp32);
    expect(Array.from(asFloat.data as Float32Array)).toEqual(Array.from(q, (v) => Math.fround(v / 255)));
    const half = servingInput(request, { ...fp32, datatype: 'FP16' });
    expect(half.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(toRealValues(half.data as Uint16Array, { datatype: 'FP16' }))).toEqual([
      0, 0.501953125, 1, 0.2509765625,
    ]);
    expect(servingInput(request, u8).data).toEqual(q);
    const fromReal = servingInput(
      { tensors: [{ name: 'a', datatype: 'FP32', shape: [1, 2, 2], data: real }] },
      u8,
    );
    expect(Array.from(fromReal.data as Uint8Array)).toEqual([0, 128, 255, 64]);
  });

  it('refuses another sample shape naming both, extra tensors, other datatypes and non-finite values', () => {
    const tensor = (shape: number[], data: Float32Array = new Float32Array(4)) => ({
      name: 'image',
      datatype: 'FP32' as const,
      shape,
      data,
    });
    expect(() => servingInput({ tensors: [tensor([1, 4, 1])] }, fp32)).toThrow(
      /input "image" has shape \[1,4,1\], model input "pixels" takes \[1,2,2\]/,
    );
    expect(() => servingInput({ tensors: [tensor([2, 2, 2], new Float32Array(8))] }, fp32)).toThrow(
      /\[1,2,2\]/,
    );
    expect(() => servingInput({ tensors: [tensor([1, 2, 2]), tensor([1, 2, 2])] }, fp32)).toThrow(
      /one input tensor/,
    );
    const wide = { name: 'w', datatype: 'INT32' as const, shape: [1, 2, 2], data: new Int32Array(4) };
    expect(() => servingInput({ tensors: [wide] }, fp32)).toThrow(/datatype INT32/);
    expect(() =>
      servingInput({ tensors: [tensor([1, 2, 2], Float32Array.of(0, Number.NaN, 0, 0))] }, u8),
    ).toThrow(/element 1 is not a finite number/);
  });
});

describe('readClassAnswer', () => {
  it('dequantizes an INT8 output and scores probabilities as they are, logits by softmax', () => {
    const spec: TensorSpec = {
      name: 'probs',
      datatype: 'INT8',
      shape: [-1, 2],
      quantization: { scale: 1 / 256, zero_point: -128 },
    };
    const answer = readClassAnswer(Int8Array.of(-128 + 64, -128 + 192), spec, 'probabilities', 'm');
    expect(Array.from(answer.values)).toEqual([0.25, 0.75]);
    expect(Array.from(answer.probabilities)).toEqual([0.25, 0.75]);
    const logits = readClassAnswer(Float32Array.of(0, 0), { ...spec, datatype: 'FP32' }, 'logits', 'm');
    expect(Array.from(logits.probabilities)).toEqual([0.5, 0.5]);
  });

  it('names the model when its output is not what its config declares', () => {
    expect(() =>
      readClassAnswer(Float32Array.of(1), { name: 'y', datatype: 'INT8', shape: [-1, 1] }, 'logits', 'big'),
    ).toThrow(/model "big": output "y" does not hold the INT8 values/);
    expect(() => readClassAnswer(undefined, fp32, 'logits', 'big')).toThrow(/returned no "pixels" output/);
  });
});

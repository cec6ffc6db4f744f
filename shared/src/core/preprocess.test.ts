import { describe, expect, it } from 'vitest';
import { parseModelConfig } from './model-config.ts';
import { preprocessImage, type RawImage } from './preprocess.ts';

function config(shape: number[], preprocessing?: Record<string, unknown>) {
  return parseModelConfig(
    {
      name: 'm',
      tier: 'device',
      platform: 'onnxruntime_onnx',
      max_batch_size: 1,
      inputs: [{ name: 'pixels', datatype: 'FP32', shape }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 2] }],
      ...(preprocessing && { preprocessing }),
    },
    'm/config.json',
    'm',
  );
}

/** Equal to float32 precision (normalisation goes through doubles). */
function expectValues(out: Float32Array, expected: number[]): void {
  expect(out.length).toBe(expected.length);
  for (const [i, v] of expected.entries()) expect(out[i]).toBeCloseTo(v, 5);
}

const rgb = (pixels: number[][], width: number, height: number): RawImage => ({
  data: Uint8Array.from(pixels.flat()),
  width,
  height,
  channels: 3,
});

describe('preprocessImage', () => {
  it('scales a gray image by 1/255 by default (the digits models)', () => {
    const out = preprocessImage(
      { data: Uint8Array.from([0, 255, 51, 102]), width: 2, height: 2, channels: 1 },
      config([-1, 1, 2, 2]),
    );
    expectValues(out, [0, 1, 0.2, 0.4]);
  });

  it('normalises per channel and lays out NCHW or NHWC', () => {
    const image = rgb(
      [
        [255, 0, 51],
        [0, 255, 102],
      ],
      2,
      1,
    );
    const p = { channel_order: 'RGB', mean: [0.5, 0, 0.2], std: [0.5, 1, 0.2] };
    const nchw = preprocessImage(image, config([-1, 3, 1, 2], { ...p, layout: 'NCHW' }));
    expectValues(nchw, [1, -1, 0, 1, 0, 1]);
    const nhwc = preprocessImage(image, config([-1, 1, 2, 3], { ...p, layout: 'NHWC' }));
    expectValues(nhwc, [1, 0, 0, -1, 1, 1]);
  });

  it('swaps to BGR, drops alpha, makes gray from colour and colour from gray', () => {
    const rgba: RawImage = { data: Uint8Array.from([255, 0, 0, 7]), width: 1, height: 1, channels: 4 };
    expect(
      Array.from(preprocessImage(rgba, config([-1, 3, 1, 1], { channel_order: 'BGR', scale: 1 }))),
    ).toEqual([0, 0, 255]);
    expect(preprocessImage(rgba, config([-1, 1, 1, 1], { scale: 1 }))[0]).toBeCloseTo(0.299 * 255, 3);
    const gray: RawImage = { data: Uint8Array.from([9]), width: 1, height: 1, channels: 1 };
    expect(Array.from(preprocessImage(gray, config([-1, 3, 1, 1], { scale: 1 })))).toEqual([9, 9, 9]);
  });

  it('shrinks by the mean of each covered area and enlarges bilinearly', () => {
    const big: RawImage = {
      data: Uint8Array.from([0, 4, 8, 8, 4, 0, 8, 8, 100, 100, 1, 3, 100, 100, 5, 7]),
      width: 4,
      height: 4,
      channels: 1,
    };
    expect(Array.from(preprocessImage(big, config([-1, 1, 2, 2], { scale: 1 })))).toEqual([2, 8, 100, 4]);
    const small: RawImage = { data: Uint8Array.from([0, 100]), width: 2, height: 1, channels: 1 };
    expect(Array.from(preprocessImage(small, config([-1, 1, 1, 4], { scale: 1 })))).toEqual([0, 25, 75, 100]);
  });

  it('refuses malformed images and non-image inputs in one line', () => {
    const c = config([-1, 1, 2, 2]);
    expect(() => preprocessImage({ data: new Uint8Array(3), width: 2, height: 2, channels: 1 }, c)).toThrow(
      'image data has 3 bytes; 2×2×1 needs 4',
    );
    expect(() => preprocessImage({ data: new Uint8Array(0), width: 0, height: 2, channels: 1 }, c)).toThrow(
      'image size must be positive integers',
    );
    expect(() =>
      preprocessImage({ data: new Uint8Array(4), width: 2, height: 2, channels: 1 }, config([-1, 4])),
    ).toThrow('images need a rank-4 NCHW input');
  });
});

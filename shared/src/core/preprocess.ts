/**
 * Raw pixels → the prepared input of a model, per its config's `preprocessing`
 * (docs/model-repository.md "Preprocessing"): convert the channels to the model's order, resize to the
 * input's H×W, x = (pixel × scale − mean[c]) / std[c], lay out NCHW or NHWC. The one home of image
 * preparation: the device SDK applies it to camera frames (browsers too: pure, no I/O) and the dataset
 * reader to decoded image files, so a model sees the same values in the field and in evaluation.
 * Upper tiers receive the prepared tensor and never preprocess.
 */
import { FoglineError } from './errors.ts';
import { imageDims, type ModelConfig, type Preprocessing } from './model-config.ts';

/** 8-bit pixels, interleaved, row by row (what a decoder or a canvas gives). */
export interface RawImage {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA; alpha is dropped. */
  readonly channels: 1 | 2 | 3 | 4;
}

/** ITU-R BT.601 luma, as most decoders turn colour into gray. */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * The prepared real values of `config.inputs[0]` (batch 1, element count C×H×W) for one image.
 * Throws INVALID_ARG when the image is malformed or the input is not an image (rank 4).
 */
export function preprocessImage(
  image: RawImage,
  config: Pick<ModelConfig, 'inputs' | 'preprocessing'>,
): Float32Array {
  const p = config.preprocessing;
  const input = config.inputs[0]!;
  const dims = imageDims(input, p.layout);
  if (dims === undefined || dims.h < 1 || dims.w < 1 || dims.c < 1) {
    throw new FoglineError(
      'INVALID_ARG',
      `input "${input.name}" has shape [${input.shape.join(', ')}]; images need a rank-4 ${p.layout} input with fixed H, W and C`,
    );
  }
  checkImage(image);
  const planes = toChannels(image, p.channel_order);
  const resized = planes.map((plane) => resize(plane, image.width, image.height, dims.w, dims.h));
  return normalise(resized, dims, p);
}

function checkImage(image: RawImage): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new FoglineError('INVALID_ARG', `image size must be positive integers, got ${width}×${height}`);
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new FoglineError('INVALID_ARG', `image channels must be 1, 2, 3 or 4, got ${channels}`);
  }
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new FoglineError('INVALID_ARG', 'image data must be a Uint8Array of 8-bit pixels');
  }
  if (data.length !== width * height * channels) {
    throw new FoglineError(
      'INVALID_ARG',
      `image data has ${data.length} bytes; ${width}×${height}×${channels} needs ${width * height * channels}`,
    );
  }
}

/** One Float32Array plane per model channel, in the model's channel order, at the source size. */
function toChannels(image: RawImage, order: Preprocessing['channel_order']): Float32Array[] {
  const { data, width, height, channels } = image;
  const n = width * height;
  const colour = channels >= 3;
  const at = (c: number) => {
    const plane = new Float32Array(n);
    for (let i = 0; i < n; i++) plane[i] = data[i * channels + c]!;
    return plane;
  };
  if (order === 'GRAY') {
    if (!colour) return [at(0)];
    const gray = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * channels;
      gray[i] = LUMA[0] * data[o]! + LUMA[1] * data[o + 1]! + LUMA[2] * data[o + 2]!;
    }
    return [gray];
  }
  const [r, g, b] = colour ? [at(0), at(1), at(2)] : [at(0), at(0), at(0)];
  return order === 'RGB' ? [r!, g!, b!] : [b!, g!, r!];
}

/**
 * Resizes one plane: bilinear (half-pixel centres) when enlarging, the mean of the covered source
 * area when shrinking (no aliasing when a large photo becomes a small input).
 */
function resize(plane: Float32Array, sw: number, sh: number, dw: number, dh: number): Float32Array {
  if (sw === dw && sh === dh) return plane;
  const xs = axis(sw, dw);
  const ys = axis(sh, dh);
  const out = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const ry = ys[y]!;
    for (let x = 0; x < dw; x++) {
      const rx = xs[x]!;
      let sum = 0;
      for (let j = 0; j < ry.index.length; j++) {
        const row = ry.index[j]! * sw;
        let line = 0;
        for (let i = 0; i < rx.index.length; i++) line += plane[row + rx.index[i]!]! * rx.weight[i]!;
        sum += line * ry.weight[j]!;
      }
      out[y * dw + x] = sum;
    }
  }
  return out;
}

interface Taps {
  index: number[];
  weight: number[];
}

/** Source taps and weights (summing to 1) of each destination coordinate along one axis. */
function axis(src: number, dst: number): Taps[] {
  const ratio = src / dst;
  const taps: Taps[] = [];
  for (let d = 0; d < dst; d++) {
    if (ratio <= 1) {
      const s = Math.min(src - 1, Math.max(0, (d + 0.5) * ratio - 0.5));
      const lo = Math.floor(s);
      const hi = Math.min(src - 1, lo + 1);
      const t = s - lo;
      taps.push(hi === lo ? { index: [lo], weight: [1] } : { index: [lo, hi], weight: [1 - t, t] });
      continue;
    }
    const start = d * ratio;
    const end = start + ratio;
    const index: number[] = [];
    const weight: number[] = [];
    for (let s = Math.floor(start); s < Math.min(src, Math.ceil(end)); s++) {
      index.push(s);
      weight.push((Math.min(end, s + 1) - Math.max(start, s)) / ratio);
    }
    taps.push({ index, weight });
  }
  return taps;
}

function normalise(
  planes: Float32Array[],
  dims: { c: number; h: number; w: number },
  p: Preprocessing,
): Float32Array {
  const { c, h, w } = dims;
  if (planes.length !== c) {
    throw new FoglineError(
      'INVALID_ARG',
      `preprocessing.channel_order ${p.channel_order} gives ${planes.length} channel(s) but the input has ${c}`,
    );
  }
  const hw = h * w;
  const out = new Float32Array(c * hw);
  for (let ch = 0; ch < c; ch++) {
    const mean = p.mean.length === 1 ? p.mean[0]! : p.mean[ch]!;
    const std = p.std.length === 1 ? p.std[0]! : p.std[ch]!;
    const plane = planes[ch]!;
    for (let i = 0; i < hw; i++) {
      const v = (plane[i]! * p.scale - mean) / std;
      out[p.layout === 'NCHW' ? ch * hw + i : i * c + ch] = v;
    }
  }
  return out;
}

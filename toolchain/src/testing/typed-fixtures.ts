/**
 * Test support: the typed classifiers (typed-classifier.ts) that several suites share by name: the
 * device SDK's models other than digits, a UINT8 → FP16 probabilities model for evaluation, and a
 * user's own 3-tier cascade for dataset, CLI and `fogline up` tests.
 */
import type { TypedClassifier } from './typed-classifier.ts';

/** UINT8 `pixels` [N,3,8,8] (quantized), UINT8 `scores` (quantized logits), 4 labels, RGB mean/std. */
export const PIXELS_UINT8: TypedClassifier = Object.freeze<TypedClassifier>({
  name: 'shapes-u8',
  input: { name: 'pixels', datatype: 'UINT8', quantization: { scale: 1 / 64, zero_point: 128 } },
  output: { name: 'scores', datatype: 'UINT8', quantization: { scale: 0.05, zero_point: 128 } },
  sample: [3, 8, 8],
  classes: 4,
  labels: ['circle', 'square', 'triangle', 'star'],
  extraConfig: { preprocessing: { layout: 'NCHW', channel_order: 'RGB', mean: [0.5], std: [0.25] } },
});

/** FP16 `x` [N,1,6,6] → FP16 `y`, 3 labels. */
export const HALF_FP16: TypedClassifier = Object.freeze<TypedClassifier>({
  name: 'half-fp16',
  input: { name: 'x', datatype: 'FP16' },
  output: { name: 'y', datatype: 'FP16' },
  sample: [1, 6, 6],
  classes: 3,
  labels: ['low', 'mid', 'high'],
});

/** FP32 `features` [N,2,4,4] → Softmax → `probs` (output_kind probabilities), no labels. */
export const PROBS_FP32: TypedClassifier = Object.freeze<TypedClassifier>({
  name: 'probs-fp32',
  input: { name: 'features', datatype: 'FP32' },
  output: { name: 'probs', datatype: 'FP32' },
  sample: [2, 4, 4],
  classes: 5,
  outputKind: 'probabilities',
});

/** UINT8 `pixels` [N,4] quantized (scale 0.5, zero point 30) → Softmax → FP16 `probs` [N,3], labels a, b, c. */
export const U8_PROBS_FP16: TypedClassifier = Object.freeze<TypedClassifier>({
  name: 'u8',
  tier: 'edge',
  input: { name: 'pixels', datatype: 'UINT8', quantization: { scale: 0.5, zero_point: 30 } },
  output: { name: 'probs', datatype: 'FP16' },
  sample: [4],
  classes: 3,
  labels: ['a', 'b', 'c'],
  outputKind: 'probabilities',
});

/**
 * A user's own 3-tier cascade (not digits), as `fogline up --models` takes it: `shapes-tiny`
 * (device), `shapes-mid` (edge), `shapes-large` (cloud), each FP32 `image` [N,3,8,8] → `logits`,
 * with these labels and RGB mean/std preprocessing.
 */
export function shapesCascade(labels: readonly string[]): TypedClassifier[] {
  return (
    [
      ['tiny', 'device'],
      ['mid', 'edge'],
      ['large', 'cloud'],
    ] as const
  ).map(([size, tier]) => ({
    name: `shapes-${size}`,
    tier,
    input: { name: 'image', datatype: 'FP32' },
    output: { name: 'logits', datatype: 'FP32' },
    sample: [3, 8, 8],
    classes: labels.length,
    labels,
    extraConfig: {
      max_batch_size: 64,
      preprocessing: { layout: 'NCHW', channel_order: 'RGB', mean: [0.5], std: [0.25] },
    },
  }));
}

/**
 * Test support: a model repository of a user's own 3-tier cascade (not digits), written into `dir`:
 * `<prefix>-tiny` (device), `<prefix>-mid` (edge), `<prefix>-large` (cloud), each a flatClassifier
 * ONNX file with a config naming its labels and preprocessing, for dataset, CLI and `fogline up` tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from '../onnx/codec.ts';
import { flatClassifier } from './flat-classifier.ts';

export interface ClassifierRepositoryOptions {
  /** Input dims without the batch dim, NCHW; default [3, 8, 8]. */
  readonly sample?: readonly number[];
  readonly labels: readonly string[];
  readonly prefix?: string;
  readonly input?: string;
  readonly output?: string;
  readonly preprocessing?: Record<string, unknown>;
}

export const CASCADE_SIZES = [
  ['tiny', 'device'],
  ['mid', 'edge'],
  ['large', 'cloud'],
] as const;

/** Writes the three models and their configs; returns their names, device first. */
export function writeClassifierRepository(dir: string, o: ClassifierRepositoryOptions): string[] {
  const sample = o.sample ?? [3, 8, 8];
  const input = o.input ?? 'image';
  const output = o.output ?? 'logits';
  return CASCADE_SIZES.map(([size, tier]) => {
    const name = `${o.prefix ?? 'shapes'}-${size}`;
    mkdirSync(join(dir, name, '1'), { recursive: true });
    const model = flatClassifier(input, output, { sample, classes: o.labels.length });
    writeFileSync(join(dir, name, '1', 'model.onnx'), encodeModel(model));
    const config = {
      name,
      tier,
      platform: 'onnxruntime_onnx',
      max_batch_size: 64,
      inputs: [{ name: input, datatype: 'FP32', shape: [-1, ...sample] }],
      outputs: [{ name: output, datatype: 'FP32', shape: [-1, o.labels.length] }],
      output_kind: 'logits',
      preprocessing: o.preprocessing ?? { layout: 'NCHW', channel_order: 'RGB', mean: [0.5], std: [0.25] },
      labels: o.labels,
    };
    writeFileSync(join(dir, name, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    return name;
  });
}

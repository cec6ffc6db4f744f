/**
 * The shapes family (models/shapes/README.md): the three committed ONNX files, read as `fogline init`
 * reads them, answer the committed PNG splits — decoded with sharp and prepared by the core's
 * preprocessImage with the mean/std the training script recorded — as accurately as zoo.json says.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ModelConfig, parseModelConfig, preprocessImage } from '@fogline/shared';
import { planModelRepository } from '@fogline/shared/model-repository';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MODELS = ['shapes-tiny', 'shapes-mid', 'shapes-large'] as const;
type ShapesModel = (typeof MODELS)[number];
const SPLITS = ['calibration', 'test'] as const;
type Split = (typeof SPLITS)[number];

interface ZooModel {
  onnx: string;
  onnx_bytes: number;
  input: { name: string; datatype: string; shape: number[] };
  output: { name: string; datatype: string; shape: number[] };
  output_kind: 'logits' | 'probabilities';
  accuracy: Record<Split, number>;
}
interface Zoo {
  labels: string[];
  preprocessing: { layout: string; channel_order: string; scale: number; mean: number[]; std: number[] };
  data: Record<Split, { per_class: number }>;
  models: Record<ShapesModel, ZooModel>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const zoo = JSON.parse(readFileSync(join(HERE, 'zoo.json'), 'utf8')) as Zoo;
const onnxPath = (name: ShapesModel) => join(HERE, zoo.models[name].onnx);

interface Sample {
  label: number;
  image: { data: Uint8Array; width: number; height: number; channels: 1 | 2 | 3 | 4 };
}

/** data/<split>/<label>/NNNN.png, decoded to 8-bit pixels, labels as indices into zoo.labels. */
async function readSplit(split: Split): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (const [label, name] of zoo.labels.entries()) {
    const dir = join(HERE, 'data', split, name);
    for (const file of readdirSync(dir).sort()) {
      const { data, info } = await sharp(join(dir, file)).raw().toBuffer({ resolveWithObject: true });
      const channels = info.channels as Sample['image']['channels'];
      samples.push({ label, image: { data, width: info.width, height: info.height, channels } });
    }
  }
  return samples;
}

/** One batch of every sample, prepared for `config`'s input; returns outputs[0] as rows of classes. */
async function answer(session: ort.InferenceSession, config: ModelConfig, samples: Sample[]) {
  const input = config.inputs[0]!;
  const size = input.shape.slice(1).reduce((a, b) => a * b, 1);
  const batch = new Float32Array(samples.length * size);
  for (const [i, s] of samples.entries()) batch.set(preprocessImage(s.image, config), i * size);
  const out = await session.run({
    [input.name]: new ort.Tensor('float32', batch, [samples.length, ...input.shape.slice(1)]),
  });
  const data = out[config.outputs[0]!.name]?.data as Float32Array;
  const k = data.length / samples.length;
  return samples.map((_, i) => Array.from(data.subarray(i * k, (i + 1) * k)));
}

const argmax = (row: number[]) => row.indexOf(Math.max(...row));

const configs = new Map<ShapesModel, ModelConfig>();
const sessions = new Map<ShapesModel, ort.InferenceSession>();
const rows = new Map<string, number[][]>();
const data = new Map<Split, Sample[]>();
const accuracy = (name: ShapesModel, split: Split) => {
  const samples = data.get(split)!;
  const answers = rows.get(`${name}/${split}`)!;
  return samples.filter((s, i) => argmax(answers[i]!) === s.label).length / samples.length;
};

beforeAll(async () => {
  // What `fogline init --name shapes --labels … --mean … --std …` would write for these three files.
  const plan = await planModelRepository({
    files: { device: onnxPath('shapes-tiny'), edge: onnxPath('shapes-mid'), cloud: onnxPath('shapes-large') },
    prefix: 'shapes',
    labels: zoo.labels,
    preprocessing: {
      scale: zoo.preprocessing.scale,
      mean: zoo.preprocessing.mean,
      std: zoo.preprocessing.std,
    },
  });
  for (const model of plan.models) {
    configs.set(
      model.name as ShapesModel,
      parseModelConfig(model.config, `${model.name}/config.json`, model.name),
    );
  }
  for (const split of SPLITS) data.set(split, await readSplit(split));
  for (const name of MODELS) {
    const session = await ort.InferenceSession.create(onnxPath(name), { intraOpNumThreads: 1 });
    sessions.set(name, session);
    for (const split of SPLITS)
      rows.set(`${name}/${split}`, await answer(session, configs.get(name)!, data.get(split)!));
  }
});

afterAll(async () => {
  for (const session of sessions.values()) await session.release();
});

describe('the committed data', () => {
  it.each(SPLITS)('%s: per_class 32×32 RGB PNGs in one folder per label', (split) => {
    const samples = data.get(split)!;
    expect(samples.length).toBe(zoo.data[split].per_class * zoo.labels.length);
    for (const [label] of zoo.labels.entries()) {
      expect(samples.filter((s) => s.label === label).length).toBe(zoo.data[split].per_class);
    }
    for (const s of samples) expect([s.image.width, s.image.height, s.image.channels]).toEqual([32, 32, 3]);
  });
});

describe.each(MODELS)('%s', (name) => {
  const record = zoo.models[name];

  it('has the input and output names, shapes and output kind zoo.json records, as init reads them', () => {
    const config = configs.get(name)!;
    expect(config.inputs).toEqual([record.input]);
    expect(config.outputs).toEqual([record.output]);
    expect(config.output_kind).toBe(record.output_kind);
    expect(config.labels).toEqual(['circle', 'square', 'triangle', 'cross']);
    expect(config.preprocessing).toEqual({ ...zoo.preprocessing, layout: 'NCHW', channel_order: 'RGB' });
    expect(readFileSync(onnxPath(name)).length).toBe(record.onnx_bytes);
  });

  it.each(SPLITS)('answers the %s split as accurately as recorded (within 0.5 point)', (split) => {
    expect(Math.abs(accuracy(name, split) - record.accuracy[split])).toBeLessThanOrEqual(0.005);
  });

  it('gives the same answer to an image alone as inside a batch (dynamic batch axis)', async () => {
    const samples = data.get('test')!.slice(0, 3);
    const alone = await answer(sessions.get(name)!, configs.get(name)!, samples.slice(2));
    const batched = rows.get(`${name}/test`)![2]!;
    for (const [k, v] of alone[0]!.entries()) expect(v).toBeCloseTo(batched[k]!, 4);
  });
});

describe('the family as a whole', () => {
  it('names its tensors differently per tier (tiny pixels→logits, mid input→logits, large x→probs)', () => {
    const names = MODELS.map((n) => [configs.get(n)!.inputs[0]!.name, configs.get(n)!.outputs[0]!.name]);
    expect(names).toEqual([
      ['pixels', 'logits'],
      ['input', 'logits'],
      ['x', 'probs'],
    ]);
  });

  it('makes shapes-large answer probabilities: every row non-negative, summing to 1', () => {
    for (const row of rows.get('shapes-large/test')!) {
      for (const p of row) expect(p).toBeGreaterThanOrEqual(0);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
  });

  it('orders the tiers by accuracy on test: tiny < mid ≤ large, and tiny leaves work to escalate', () => {
    const [tiny, mid, large] = MODELS.map((n) => accuracy(n, 'test'));
    expect(tiny).toBeLessThan(mid!);
    expect(mid).toBeLessThanOrEqual(large!);
    expect(tiny).toBeLessThan(0.97);
  });
});

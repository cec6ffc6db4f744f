import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkCascade,
  DEFAULT_MODELS_DIR,
  findCascade,
  loadModelRepository,
  planModelRepository,
  validateModelFile,
} from '@fogline/shared/model-repository';
import { encodeModel } from '@fogline/toolchain';
import { flatClassifier } from '@fogline/toolchain/testing';
import { describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../testing/run-fogline.ts';

const digits = (name: string) => join(DEFAULT_MODELS_DIR, name, '1', 'model.onnx');
const DIGITS_FILES = [
  '--device',
  digits('digits-tiny'),
  '--edge',
  digits('digits-mid'),
  '--cloud',
  digits('digits-large'),
];

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'fogline-init-'));
}

/** Each CLI run starts a fresh Node process: a few seconds each on a loaded 2-core box. */
const CLI_TIMEOUT_MS = 120_000;

describe('fogline init', () => {
  it(
    'scaffolds the digits cascade: configs that load and pass the check; replaces only with --force',
    async () => {
      const work = scratch();
      const repo = join(work, 'repo');
      const labelsFile = join(work, 'labels.txt');
      writeFileSync(labelsFile, `${Array.from({ length: 10 }, (_, k) => `digit ${k}`).join('\n')}\n`);
      const out = await fogline('init', repo, ...DIGITS_FILES, '--name', 'hand', '--labels-file', labelsFile);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('cascade hand-tiny → hand-mid → hand-large: compatible');
      expect(out.stdout).toMatch(
        /next steps:[\s\S]*fogline quantize[\s\S]*fogline calibrate --models[\s\S]*docs\/your-models.md/,
      );

      const loaded = await loadModelRepository(repo);
      const cascade = findCascade(loaded);
      checkCascade(cascade);
      for (const entry of loaded.list()) await validateModelFile(entry);
      const { device, edge, cloud } = cascade;
      expect([device.config.tier, edge.config.tier, cloud.config.tier]).toEqual(['device', 'edge', 'cloud']);
      expect(device.config.labels[3]).toBe('digit 3');
      expect(device.config.routing).toEqual({ score: 'margin', threshold: null });
      expect(device.config.inputs[0]).toEqual({ name: 'image', datatype: 'FP32', shape: [-1, 1, 28, 28] });
      expect([device.config.max_batch_size, edge.config.max_batch_size]).toEqual([8, 64]);
      const written = JSON.parse(readFileSync(join(repo, 'hand-tiny', 'config.json'), 'utf8'));
      expect(written.preprocessing).toEqual({
        layout: 'NCHW',
        channel_order: 'GRAY',
        scale: 1 / 255,
        mean: [0],
        std: [1],
      });

      const again = await fogline('init', repo, ...DIGITS_FILES, '--name', 'hand');
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/hand-tiny.*already exist; pass --force to replace/);
      const forced = await fogline('init', repo, ...DIGITS_FILES, '--name', 'hand', '--force');
      expect(forced.code).toBe(0);
      expect((await loadModelRepository(repo)).get('hand-tiny').config.labels[3]).toBe('class3');
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'quantize --into adds <name>-int8 with the source config, which cascades then prefer',
    async () => {
      const repo = join(scratch(), 'repo');
      const labels = 'zero,one,two,three,four,five,six,seven,eight,nine';
      expect((await fogline('init', repo, ...DIGITS_FILES, '--name', 'hand', '--labels', labels)).code).toBe(
        0,
      );
      const q = await fogline(
        'quantize',
        join(repo, 'hand-mid', '1', 'model.onnx'),
        '--into',
        repo,
        '--mode',
        'dynamic',
        '--no-latency',
      );
      expect(q.stderr).not.toMatch(/fogline:/);
      expect(q.code).toBe(0);
      const withInt8 = await loadModelRepository(repo);
      const int8 = withInt8.get('hand-mid-int8');
      expect(int8.config).toMatchObject({ tier: 'edge', labels: labels.split(',') });
      expect(int8.config.description).toMatch(/hand-mid quantized to INT8 by `fogline quantize` \(dynamic/);
      expect(findCascade(withInt8).edge.name).toBe('hand-mid-int8');
      // The report stays beside the version, for the cloud's Models page.
      const report = JSON.parse(readFileSync(join(repo, 'hand-mid-int8', '1', 'quantize.json'), 'utf8'));
      expect(report).toMatchObject({
        settings: expect.stringMatching(/^dynamic/),
        int8Bytes: expect.any(Number),
      });
      expect((await fogline('models', 'check', '--models', repo)).code).toBe(0);
    },
    CLI_TIMEOUT_MS,
  );

  it(
    '--name makes directory names of the one name rule: one that leaves the repository or is too long writes nothing',
    async () => {
      const repo = join(scratch(), 'repo');
      // 60 characters + "-large" is 66: a name the repository's loader (and the cloud, the edges) refuse.
      const long = 'a'.repeat(60);
      const refused = await fogline('init', repo, ...DIGITS_FILES, '--name', long);
      expect(refused.code).toBe(1);
      expect(refused.stderr.trim()).toBe(
        `fogline: --name "${long}" makes the model name "${long}-tiny": a model name is 1–64 characters: letters, digits, '.', '_', '-'; starting with a letter or digit`,
      );
      expect(existsSync(repo)).toBe(false);
      const files = {
        device: digits('digits-tiny'),
        edge: digits('digits-mid'),
        cloud: digits('digits-large'),
      };
      for (const prefix of ['../escaped', '.hidden', 'a/b', '']) {
        await expect(planModelRepository({ files, prefix })).rejects.toMatchObject({ code: 'INVALID_ARG' });
      }
    },
    CLI_TIMEOUT_MS,
  );

  it(
    'writes nothing when a file is not ONNX or the tiers disagree on classes, and says which file',
    async () => {
      const work = scratch();
      const notOnnx = join(work, 'notes.onnx');
      writeFileSync(notOnnx, 'this is not a model');
      const repo = join(work, 'repo');
      const bad = await fogline(
        'init',
        repo,
        ...DIGITS_FILES.slice(0, 2),
        '--edge',
        notOnnx,
        '--cloud',
        digits('digits-large'),
        '--name',
        'x',
      );
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(
        new RegExp(`^fogline: ${notOnnx}: onnxruntime cannot load it as an ONNX model`),
      );
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(repo)).toBe(false);

      const five = join(work, 'five.onnx');
      writeFileSync(
        five,
        encodeModel(flatClassifier('image', 'logits', { sample: [1, 28, 28], classes: 5 })),
      );
      const classes = await fogline(
        'init',
        repo,
        ...DIGITS_FILES.slice(0, 4),
        '--cloud',
        five,
        '--name',
        'x',
      );
      expect(classes.code).toBe(1);
      expect(classes.stderr).toContain(
        `${five}: outputs[0] "logits" has 5 classes but ${digits('digits-tiny')}'s has 10`,
      );
      expect(existsSync(repo)).toBe(false);
    },
    CLI_TIMEOUT_MS,
  );

  it('refuses labels that do not fit the classes, and inputs that differ between tiers', async () => {
    const files = {
      device: digits('digits-tiny'),
      edge: digits('digits-mid'),
      cloud: digits('digits-large'),
    };
    await expect(planModelRepository({ files, prefix: 'x', labels: ['a', 'b', 'c'] })).rejects.toThrow(
      "--labels: 3 names but the models' outputs[0] have 10 classes",
    );
    await expect(
      planModelRepository({ files, prefix: 'x', labels: ['a', 'a'], labelsSource: 'labels.txt' }),
    ).rejects.toThrow('labels.txt: names "a" twice');
    const work = scratch();
    const colour = join(work, 'colour.onnx');
    writeFileSync(
      colour,
      encodeModel(flatClassifier('pixels', 'logits', { sample: [3, 28, 28], classes: 10 })),
    );
    await expect(planModelRepository({ files: { ...files, edge: colour }, prefix: 'x' })).rejects.toThrow(
      `${colour}: inputs[0] "pixels" is FP32 [3, 28, 28] but ${files.device}'s is FP32 [1, 28, 28]`,
    );
    // Same files, no prefix: the names would collide, so it asks for --name.
    await expect(planModelRepository({ files })).rejects.toThrow(/pass --name <prefix>/);
  });

  it('names the models after their files, reads any input name, and keeps a fixed batch of 1 unbatched', async () => {
    const work = scratch();
    const model = (name: string, batch: string | number) => {
      const file = join(work, `${name}.onnx`);
      writeFileSync(
        file,
        encodeModel(flatClassifier('pixels', 'scores', { sample: [3, 32, 32], classes: 4, batch })),
      );
      return file;
    };
    const plan = await planModelRepository({
      files: {
        device: model('shapes-s', 1),
        edge: model('shapes-m', 'N'),
        cloud: model('shapes-l', 'batch'),
      },
      outputKind: 'probabilities',
    });
    const [device, edge] = plan.models;
    expect([device!.name, edge!.name]).toEqual(['shapes-s', 'shapes-m']);
    expect(device!.config).toMatchObject({
      max_batch_size: 1,
      inputs: [{ name: 'pixels', datatype: 'FP32', shape: [1, 3, 32, 32] }],
      outputs: [{ name: 'scores', shape: [1, 4] }],
      output_kind: 'probabilities',
      preprocessing: { layout: 'NCHW', channel_order: 'RGB', mean: [0, 0, 0], std: [1, 1, 1] },
      labels: ['class0', 'class1', 'class2', 'class3'],
    });
    expect(edge!.config).toMatchObject({ max_batch_size: 64, inputs: [{ shape: [-1, 3, 32, 32] }] });
    expect(plan.notes.join('\n')).toMatch(/batch dim is fixed at 1, so max_batch_size is 1/);
  });

  it('sees which models end in a softmax, and writes the preprocessing it is given', async () => {
    const work = scratch();
    const model = (name: string, softmax: boolean) => {
      const file = join(work, `${name}.onnx`);
      const shape = { sample: [3, 8, 8], classes: 3, softmax };
      writeFileSync(file, encodeModel(flatClassifier('x', softmax ? 'probs' : 'logits', shape)));
      return file;
    };
    const plan = await planModelRepository({
      files: { device: model('a', false), edge: model('b', false), cloud: model('c', true) },
      preprocessing: { mean: [0.5, 0.4, 0.3], std: [0.25] },
    });
    expect(plan.models.map((m) => m.config.output_kind)).toEqual(['logits', 'logits', 'probabilities']);
    expect(plan.models[2]!.config.preprocessing).toEqual({
      layout: 'NCHW',
      channel_order: 'RGB',
      scale: 1 / 255,
      mean: [0.5, 0.4, 0.3],
      std: [0.25, 0.25, 0.25],
    });
    expect(plan.notes.join('\n')).toMatch(
      /"probabilities" for c \(its outputs\[0\] is non-negative and sums to 1/,
    );
    const flat = join(work, 'flat.onnx');
    writeFileSync(flat, encodeModel(flatClassifier('v', 'logits', { sample: [16], classes: 3 })));
    await expect(
      planModelRepository({
        files: { device: flat, edge: flat, cloud: flat },
        prefix: 'v',
        preprocessing: { scale: 1 },
      }),
    ).rejects.toThrow(
      'preprocessing (--scale/--mean/--std) applies to image inputs, but inputs[0] "v" is [-1, 16]',
    );
  });
});

import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { buildModel, DataType, encodeModel, makeNode, tensorValueInfo } from '@fogline/toolchain';
import { smallCnn } from '@fogline/toolchain/testing';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../testing/run-fogline.ts';

const wave = (n: number, f: number): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * 0.5);

/** A user's small classifier: [N,1,8,8] → Conv → Relu → MaxPool → Flatten → Gemm → [N,5]. */
const userModel = smallCnn('pixels', 'scores', {
  conv: wave(36, 0.7),
  convBias: wave(4, 1.3),
  gemm: wave(320, 0.31),
  gemmBias: wave(5, 2.1),
});

describe('fogline quantize on a user model', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fogline-quantize-cli-'));
    await writeFile(join(dir, 'model.onnx'), encodeModel(userModel));
    const data = Array.from({ length: 64 * 64 }, (_, i) => (Math.sin(i * 0.013) + 1) / 2);
    const labels = Array.from({ length: 64 }, (_, i) => i % 5);
    await writeFile(join(dir, 'cal.json'), JSON.stringify({ shape: [64, 1, 8, 8], data, labels }));
  });

  it('writes a model that onnxruntime loads, and a JSON + markdown report', async () => {
    const out = join(dir, 'model-int8.onnx');
    const r = await fogline(
      'quantize',
      join(dir, 'model.onnx'),
      out,
      '--calibration-data',
      join(dir, 'cal.json'),
      '--report',
      join(dir, 'report'),
      '--no-latency',
    );
    expect(r.stderr).not.toMatch(/fogline:/);
    expect(r.code).toBe(0);
    const session = await ort.InferenceSession.create(out);
    expect(session.outputNames).toEqual(['scores']);
    await session.release();
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    expect(report.quantized).toEqual([
      { node: 'conv', op: 'Conv' },
      { node: 'gemm', op: 'Gemm' },
    ]);
    expect(report.comparisons[0]).toMatchObject({ source: join(dir, 'cal.json'), count: 64 });
    expect(report.comparisons[0].agreement).toBeGreaterThanOrEqual(0.9);
    expect(await readFile(join(dir, 'report.md'), 'utf8')).toMatch(/top-1 agreement/);
  });

  it('writes <out> and --report into folders that do not exist yet, as calibrate --report does', async () => {
    const out = join(dir, 'new', 'models', 'model-int8.onnx');
    const stem = join(dir, 'new', 'reports', 'q');
    const r = await fogline(
      'quantize',
      join(dir, 'model.onnx'),
      out,
      '--calibration-data',
      join(dir, 'cal.json'),
      '--report',
      stem,
      '--no-latency',
    );
    expect(r.code, r.stderr).toBe(0);
    const session = await ort.InferenceSession.create(out);
    expect(session.outputNames).toEqual(['scores']);
    await session.release();
    expect(JSON.parse(await readFile(`${stem}.json`, 'utf8'))).toMatchObject({ output: out });
    expect(existsSync(`${stem}.md`)).toBe(true);
  });

  it('--into refuses a copy whose name the repository would refuse, before quantizing or writing', async () => {
    // 60 characters + "-int8" is 65: past the one name rule (the loader, the cloud and edges refuse it).
    const name = 'a'.repeat(60);
    const repo = join(dir, 'repo');
    await mkdir(join(repo, name, '1'), { recursive: true });
    await copyFile(
      join(DEFAULT_MODELS_DIR, 'digits-tiny', '1', 'model.onnx'),
      join(repo, name, '1', 'model.onnx'),
    );
    const config = JSON.parse(await readFile(join(DEFAULT_MODELS_DIR, 'digits-tiny', 'config.json'), 'utf8'));
    await writeFile(join(repo, name, 'config.json'), JSON.stringify({ ...config, name }));
    const r = await fogline(
      'quantize',
      join(repo, name, '1', 'model.onnx'),
      '--into',
      repo,
      '--mode',
      'dynamic',
    );
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `fogline: --into: the quantized copy's name "${name}-int8" must match /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/ (1–64 characters: letters, digits, '.', '_', '-'; starting with a letter or digit)`,
    );
    expect(existsSync(join(repo, `${name}-int8`))).toBe(false);
  });

  it('dynamic mode needs no calibration data', async () => {
    const out = join(dir, 'model-dyn.onnx');
    const r = await fogline('quantize', join(dir, 'model.onnx'), out, '--mode', 'dynamic', '--no-latency');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/DynamicQuantizeMatMul/);
    expect(existsSync(out)).toBe(true);
  });

  it.each([
    [
      'a file that is not ONNX',
      'cal.json',
      ['--calibration-data', 'cal.json'],
      /cal\.json is not an ONNX file/,
    ],
    [
      'calibration data of the wrong shape',
      'model.onnx',
      ['--calibration-data', 'calibration'],
      /digits split "calibration" \(1×28×28\): has samples of shape 1×28×28; the model input "pixels" .* takes samples of 1×8×8/,
    ],
  ])('%s: a clear error, nothing written', async (_, input, flags, message) => {
    const out = join(dir, `never-${input}.onnx`);
    const args = flags.map((f) => (f.endsWith('.json') ? join(dir, f) : f));
    const r = await fogline('quantize', join(dir, input), out, ...args, '--no-latency');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it('nothing quantizable: says so and writes nothing', async () => {
    const relu = buildModel({
      inputs: [tensorValueInfo('x', DataType.FLOAT, ['N', 4])],
      outputs: [tensorValueInfo('y', DataType.FLOAT, ['N', 4])],
      nodes: [makeNode('Relu', ['x'], ['y'], 'relu')],
    });
    await writeFile(join(dir, 'relu.onnx'), encodeModel(relu));
    const out = join(dir, 'relu-int8.onnx');
    const r = await fogline('quantize', join(dir, 'relu.onnx'), out, '--mode', 'dynamic');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nothing to quantize in .*relu\.onnx/);
    expect(existsSync(out)).toBe(false);
  });
});

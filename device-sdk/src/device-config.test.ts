/**
 * Models other than digits, run by their config (docs/device-sdk.md "Model config"): a real fogline
 * broker (Aedes), the SDK's edge responder, and typed classifiers written as a model repository in a
 * temporary directory, run on onnxruntime-node (one on onnxruntime-web) and checked against
 * onnxruntime run directly on the same file.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  argmax,
  type ModelConfig,
  preprocessImage,
  type RawImage,
  softmax,
  type TensorData,
  type TensorDatatype,
  toRealValues,
  toTensorData,
} from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import {
  HALF_FP16,
  PIXELS_UINT8,
  PROBS_FP32,
  runTypedClassifier,
  type TypedClassifier,
  typedClassifierConfig,
  writeTypedClassifier,
} from '@fogline/toolchain/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from './device.ts';
import type { ConnectDeviceOptions } from './device-options.ts';
import { connectDevice } from './index.ts';
import { type EdgeResponder, startEdgeResponder } from './testing/edge-responder.ts';

const ALWAYS_LOCAL = { score: 'maxprob', threshold: 0 } as const;
const ALWAYS_ESCALATE = { score: 'maxprob', threshold: 1 } as const;
const TOKEN = 'tok';
const U8_LABELS = ['circle', 'square', 'triangle', 'star'];

let root: string;
const paths: Record<string, string> = {};
let broker: FoglineBroker;
let url: string;
let responder: EdgeResponder;
const devices: Device[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fogline-sdk-models-'));
  for (const spec of [PIXELS_UINT8, HALF_FP16, PROBS_FP32]) {
    paths[spec.name] = writeTypedClassifier(join(root, 'repo'), spec);
  }
  // Bare ONNX files: no config.json anywhere near them.
  await mkdir(join(root, 'bare'));
  paths.bareProbs = join(root, 'bare', 'probs.onnx');
  await copyFile(paths[PROBS_FP32.name]!, paths.bareProbs);
  paths.bareDigits = join(root, 'bare', 'digits.onnx');
  await copyFile(join(DEFAULT_MODELS_DIR, 'digits-tiny/1/model.onnx'), paths.bareDigits);
});

afterAll(() => rm(root, { recursive: true, force: true }));

beforeEach(async () => {
  broker = await createBroker({
    mqttPort: 0,
    resolveIdentity: async (id, token) => {
      if (token !== TOKEN) return null;
      return id === 'agent-a'
        ? { kind: 'service', id, edgeId: 'edge-a' }
        : { kind: 'device', id, edgeId: 'edge-a' };
    },
  });
  url = `mqtt://127.0.0.1:${(await broker.listen()).mqttPort}`;
  responder = await startEdgeResponder({ url, edgeId: 'edge-a', clientId: 'agent-a', token: TOKEN });
});

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await responder.close();
  await broker.close();
});

async function device(model: string, options: Partial<ConnectDeviceOptions> = {}): Promise<Device> {
  const d = await connectDevice({
    broker: url,
    deviceId: 'dev-1',
    token: TOKEN,
    edgeId: 'edge-a',
    model,
    ...options,
  });
  devices.push(d);
  return d;
}

/** Deterministic prepared real values of a model input. */
function realInput(spec: TypedClassifier, seed: number): Float32Array {
  const n = spec.sample.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.9 + seed) * 1.8);
}

/** The output data onnxruntime gives for this typed input, run directly on the model file. */
const ortOutput = (spec: TypedClassifier, data: TensorData<TensorDatatype>) =>
  runTypedClassifier(join(root, 'repo'), spec, data);

describe('a UINT8 model named pixels, with labels', () => {
  it('reads its config.json: answers locally as onnxruntime does, named by the labels', async () => {
    const d = await device(paths[PIXELS_UINT8.name]!, { policy: ALWAYS_LOCAL });
    expect(d.config.inputs[0]).toMatchObject({ name: 'pixels', datatype: 'UINT8' });
    expect(d.config.labels).toEqual(U8_LABELS);
    for (let seed = 0; seed < 6; seed++) {
      const real = realInput(PIXELS_UINT8, seed);
      const result = await d.infer(real);
      const direct = await ortOutput(PIXELS_UINT8, toTensorData(real, PIXELS_UINT8.input));
      const logits = toRealValues(direct as Uint8Array, PIXELS_UINT8.output);
      expect(Array.from(result.outputs.logits)).toEqual(Array.from(logits));
      expect(result).toMatchObject({
        tier: 'device',
        outputKind: 'logits',
        label: argmax(logits),
        labelName: U8_LABELS[argmax(logits)],
        modelVersions: 'shapes-u8:1',
      });
      const probabilities = softmax(logits);
      for (let k = 0; k < 4; k++) expect(result.outputs.probabilities[k]).toBeCloseTo(probabilities[k]!, 6);
      expect(result.score).toBeCloseTo(Math.max(...probabilities), 6);
    }
  });

  it('escalates the UINT8 pixels tensor as the model consumes it, with input_scale and input_zero_point', async () => {
    const d = await device(paths[PIXELS_UINT8.name]!, { policy: ALWAYS_ESCALATE });
    responder.classes = 4;
    responder.label = 2;
    const real = realInput(PIXELS_UINT8, 1);
    const result = await d.infer(real, { deadlineMs: 3_000 });
    expect(result).toMatchObject({ tier: 'edge', label: 2, labelName: 'triangle', outputKind: 'logits' });
    const [request] = responder.received;
    expect(request!.input).toMatchObject({ name: 'pixels', datatype: 'UINT8', shape: [1, 3, 8, 8] });
    expect(Array.from(request!.input!.data as Uint8Array)).toEqual(
      Array.from(toTensorData(real, PIXELS_UINT8.input)),
    );
    expect(request!.parameters).toMatchObject({ input_scale: 1 / 64, input_zero_point: 128 });
    expect(request!.inputQuantization).toEqual({ scale: 1 / 64, zero_point: 128 });
  });

  it('takes raw pixels ({ image }) and prepares them per the config preprocessing', async () => {
    const d = await device(paths[PIXELS_UINT8.name]!, { policy: ALWAYS_ESCALATE });
    responder.classes = 4;
    const image: RawImage = {
      data: Uint8Array.from({ length: 16 * 12 * 4 }, (_, i) => (i * 37) % 256),
      width: 16,
      height: 12,
      channels: 4,
    };
    const result = await d.infer({ image }, { deadlineMs: 3_000 });
    expect(result.tier).toBe('edge');
    const prepared = preprocessImage(image, d.config);
    expect(Array.from(responder.received[0]!.input!.data as Uint8Array)).toEqual(
      Array.from(toTensorData(prepared, PIXELS_UINT8.input)),
    );
    // The image and its prepared values are the same input to the device model.
    const local = await device(paths[PIXELS_UINT8.name]!, { deviceId: 'dev-2', policy: ALWAYS_LOCAL });
    const fromImage = await local.infer({ image });
    const fromValues = await local.infer(prepared);
    expect(Array.from(fromImage.outputs.logits)).toEqual(Array.from(fromValues.outputs.logits));
  });

  it('refuses a wrong input with one line naming the expected shape', async () => {
    const d = await device(paths[PIXELS_UINT8.name]!, { policy: ALWAYS_LOCAL });
    await expect(d.infer(new Float32Array(784))).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message:
        'input must be a Float32Array of 192 values (the prepared input "pixels" [1, 3, 8, 8]) or { image }, got 784 values',
    });
    await expect(d.infer(new Uint8Array(192) as unknown as Float32Array)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringContaining('got a Uint8Array'),
    });
    await expect(
      d.infer({ image: { data: new Uint8Array(5), width: 2, height: 2, channels: 3 } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARG', message: expect.stringContaining('needs 12') });
  });

  it('answers like on onnxruntime-node when run on onnxruntime-web', async () => {
    const web = await device(paths[PIXELS_UINT8.name]!, { policy: ALWAYS_LOCAL, runtime: 'web' });
    const node = await device(paths[PIXELS_UINT8.name]!, { deviceId: 'dev-2', policy: ALWAYS_LOCAL });
    for (let seed = 0; seed < 4; seed++) {
      const [a, b] = await Promise.all([
        web.infer(realInput(PIXELS_UINT8, seed)),
        node.infer(realInput(PIXELS_UINT8, seed)),
      ]);
      expect(a.labelName).toBe(b.labelName);
      for (let k = 0; k < 4; k++)
        expect(Math.abs(a.outputs.logits[k]! - b.outputs.logits[k]!)).toBeLessThanOrEqual(0.05);
    }
  });
});

describe('an FP16 model', () => {
  it('runs half inputs locally and escalates them as FP16 half bits, without input_scale or input_zero_point', async () => {
    const d = await device(paths[HALF_FP16.name]!, { policy: ALWAYS_LOCAL });
    const real = realInput(HALF_FP16, 2);
    const local = await d.infer(real);
    const direct = (await ortOutput(HALF_FP16, toTensorData(real, HALF_FP16.input))) as Uint16Array;
    const logits = toRealValues(direct, HALF_FP16.output);
    expect(Array.from(local.outputs.logits)).toEqual(Array.from(logits));
    expect(local.labelName).toBe(['low', 'mid', 'high'][argmax(logits)]);

    const up = await device(paths[HALF_FP16.name]!, { deviceId: 'dev-2', policy: ALWAYS_ESCALATE });
    responder.classes = 3;
    responder.label = 0;
    expect(await up.infer(real, { deadlineMs: 3_000 })).toMatchObject({ tier: 'edge', labelName: 'low' });
    const { input, parameters } = responder.received[0]!;
    expect(input).toMatchObject({ name: 'x', datatype: 'FP16', shape: [1, 1, 6, 6] });
    expect(input!.data).toEqual(toTensorData(real, HALF_FP16.input));
    expect(parameters.input_scale).toBeUndefined();
    expect(responder.received[0]!.inputQuantization).toBeUndefined();
  });
});

describe('a probabilities model (output_kind: probabilities), no labels', () => {
  it('scores the probabilities themselves, not their softmax', async () => {
    const d = await device(paths[PROBS_FP32.name]!, { policy: ALWAYS_LOCAL });
    const result = await d.infer(realInput(PROBS_FP32, 4));
    const direct = (await ortOutput(PROBS_FP32, realInput(PROBS_FP32, 4))) as Float32Array;
    expect(result).toMatchObject({
      outputKind: 'probabilities',
      label: argmax(direct),
      labelName: undefined,
    });
    for (let k = 0; k < 5; k++) expect(result.outputs.probabilities[k]).toBeCloseTo(direct[k]!, 6);
    expect(result.score).toBeCloseTo(Math.max(...direct), 6);
    expect(result.score).not.toBeCloseTo(Math.max(...softmax(direct)), 3);
  });

  it("reads an edge answer by the reply's output_kind", async () => {
    const d = await device(paths[PROBS_FP32.name]!, { policy: ALWAYS_ESCALATE });
    responder.classes = 5;
    responder.label = 4;
    responder.outputKind = 'probabilities';
    const result = await d.infer(realInput(PROBS_FP32, 0), { deadlineMs: 3_000 });
    expect(result).toMatchObject({
      tier: 'edge',
      outputKind: 'probabilities',
      label: 4,
      labelName: undefined,
    });
    expect(result.outputs.probabilities[4]).toBeCloseTo(0.9, 6);
  });

  it('an edge answer with another class count falls back to the local answer, degraded', async () => {
    const d = await device(paths[PROBS_FP32.name]!, { policy: ALWAYS_ESCALATE });
    responder.classes = 10;
    const result = await d.infer(realInput(PROBS_FP32, 0), { deadlineMs: 3_000 });
    expect(result).toMatchObject({
      tier: 'device',
      degraded: true,
      fallback: {
        code: 'INVALID_ARG',
        message: 'unusable reply from the edge: it scores 10 classes, the device model 5',
      },
    });
    expect(d.stats()).toMatchObject({ fallbacks: 1, answeredUpstream: 0 });
  });
});

describe('answers from upstream', () => {
  it("a degraded edge answer carries the edge's reason in fallback", async () => {
    const d = await device(paths[HALF_FP16.name]!, { policy: ALWAYS_ESCALATE });
    responder.classes = 3;
    responder.label = 2;
    responder.degradedBy = { code: 'UNAVAILABLE', message: 'cloud unreachable' };
    const result = await d.infer(realInput(HALF_FP16, 0), { deadlineMs: 3_000 });
    expect(result).toMatchObject({
      tier: 'edge',
      degraded: true,
      label: 2,
      labelName: 'high',
      fallback: { code: 'UNAVAILABLE', message: 'cloud unreachable' },
    });
  });
});

describe('bare ONNX files (no config.json)', () => {
  it("run with the graph's own input name and shape, no labels, escalating that tensor", async () => {
    const d = await device(paths.bareProbs!, { policy: ALWAYS_ESCALATE });
    expect(d.config.inputs[0]).toMatchObject({ name: 'features', datatype: 'FP32', shape: [-1, 2, 4, 4] });
    responder.classes = 5;
    responder.label = 1;
    const result = await d.infer(realInput(PROBS_FP32, 0), { deadlineMs: 3_000 });
    // Without a config nothing says the output holds probabilities: it is read as logits.
    expect(result).toMatchObject({
      tier: 'edge',
      label: 1,
      labelName: undefined,
      modelVersions: 'digits-mid:1',
    });
    expect(responder.received[0]!.input).toMatchObject({
      name: 'features',
      datatype: 'FP32',
      shape: [1, 2, 4, 4],
    });
  });

  it('the digits model outside a repository keeps working on the digits defaults', async () => {
    const d = await device(paths.bareDigits!, { policy: ALWAYS_LOCAL });
    const result = await d.infer(new Float32Array(784));
    expect(result).toMatchObject({
      tier: 'device',
      outputKind: 'logits',
      labelName: undefined,
      modelVersions: 'digits.onnx',
    });
    expect(result.outputs.logits).toHaveLength(10);
  });
});

describe('configs that do not fit', () => {
  /** A copy of PIXELS_UINT8 in its own repository, with this config.json. */
  async function modelWithConfig(name: string, config: Record<string, unknown> | string): Promise<string> {
    const spec = { ...PIXELS_UINT8, name };
    const model = writeTypedClassifier(join(root, 'bad'), spec);
    const text = typeof config === 'string' ? config : JSON.stringify({ ...config, name });
    await writeFile(join(root, 'bad', name, 'config.json'), text);
    return model;
  }
  const base = typedClassifierConfig(PIXELS_UINT8) as { inputs: object[]; outputs: object[] };

  it('an input name the ONNX does not have: INVALID_ARG at connect naming the file and field', async () => {
    const model = await modelWithConfig('wrong-name', {
      ...base,
      inputs: [{ ...base.inputs[0], name: 'image' }],
    });
    await expect(device(model)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: `${join(root, 'bad', 'wrong-name', 'config.json')}: field "inputs[0].name" is "image" but ${model} has "pixels"`,
    });
  });

  it('a datatype the ONNX does not have', async () => {
    const model = await modelWithConfig('wrong-type', {
      ...base,
      outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, 4] }],
    });
    await expect(device(model)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringContaining('field "outputs[0].datatype" is FP32 but "scores" in'),
    });
  });

  it('a shape the ONNX does not have', async () => {
    const model = await modelWithConfig('wrong-shape', {
      ...base,
      inputs: [{ ...base.inputs[0], shape: [-1, 3, 16, 16] }],
    });
    await expect(device(model)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringContaining('field "inputs[0].shape" is [-1, 3, 16, 16] but "pixels" in'),
    });
  });

  it('a config.json that is not JSON, or breaks a rule of the repository format', async () => {
    const broken = await modelWithConfig('not-json', '{ "name": ');
    await expect(device(broken)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/not-json\/config\.json: not valid JSON/),
    });
    const labels = await modelWithConfig('bad-labels', { ...base, labels: ['a', 'b'] });
    await expect(device(labels)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringContaining('field "labels" has 2 names but outputs[0] has 4 classes'),
    });
  });

  it('the config option: used for a model outside a repository, validated like a file', async () => {
    const model = join(root, 'bare', 'u8.onnx');
    await copyFile(paths[PIXELS_UINT8.name]!, model);
    const config = typedClassifierConfig(PIXELS_UINT8) as unknown as ModelConfig;
    const d = await device(model, { config, policy: ALWAYS_LOCAL });
    expect((await d.infer(realInput(PIXELS_UINT8, 0))).labelName).toBeDefined();
    await expect(
      device(model, { deviceId: 'dev-2', config: { ...config, output_kind: 'odds' } }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: 'connectDevice option "config": field "output_kind" must be one of "logits", "probabilities"',
    });
  });
});

/**
 * Contract test: every runtime runs the committed digits-tiny model and typed models (UINT8
 * quantized and FP16 inputs and outputs, a Softmax output) alike, and reports the graph's tensors.
 */
import { readFileSync } from 'node:fs';
import {
  argmax,
  halfBitsToFloat,
  type Tensor,
  type TensorDatatype,
  toRealValues,
  toTensorData,
} from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import {
  HALF_FP16,
  PIXELS_UINT8,
  PROBS_FP32,
  type TypedClassifier,
  typedClassifierOnnx,
  typedClassifierReference,
} from '@fogline/toolchain/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRuntime, RuntimeModel } from './model-runtime.ts';
import { createNodeRuntime } from './node-runtime.ts';
import { selectRuntime } from './select-runtime.ts';
import { createWebRuntime } from './web-runtime.ts';

const model: RuntimeModel = { bytes: readFileSync(`${DEFAULT_MODELS_DIR}/digits-tiny/1/model.onnx`) };
const digits = loadDigits('test');
const sample = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);
const LOGITS = { name: 'logits', datatype: 'FP32' } as const;
const digit = (i: number): Tensor<'FP32'> => ({
  name: 'image',
  datatype: 'FP32',
  shape: [1, 1, 28, 28],
  data: sample(i),
});

/** Deterministic real input values in [-1.5, 1.5] for a typed model. */
function realInput(spec: TypedClassifier, seed: number): Float32Array {
  const n = spec.sample.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + seed) * 1.5);
}

async function runTyped(runtime: ModelRuntime, spec: TypedClassifier, real: Float32Array) {
  const data = toTensorData(real, spec.input);
  const input = { name: spec.input.name, datatype: spec.input.datatype, shape: [1, ...spec.sample], data };
  return runtime.run(input as Tensor<TensorDatatype>, spec.output);
}

describe.each([
  ['node', createNodeRuntime],
  ['web', createWebRuntime],
] as const)('%s runtime', (kind, create) => {
  let runtime: ModelRuntime;
  beforeAll(async () => {
    runtime = await create(model);
  });
  afterAll(() => runtime.close());

  it('reports its kind, the graph tensors, and returns 10 logits', async () => {
    expect(runtime.kind).toBe(kind);
    expect(runtime.inputs).toEqual([{ name: 'image', type: 'float32', shape: [-1, 1, 28, 28] }]);
    expect(runtime.outputs).toEqual([{ name: 'logits', type: 'float32', shape: [-1, 10] }]);
    expect((await runtime.run(digit(0), LOGITS)).length).toBe(10);
  });

  it('classifies most test digits correctly, with concurrent calls', async () => {
    const n = 50;
    const logits = await Promise.all(Array.from({ length: n }, (_, i) => runtime.run(digit(i), LOGITS)));
    const correct = logits.filter((l, i) => argmax(l as Float32Array) === digits.labels[i]).length;
    expect(correct / n).toBeGreaterThan(0.8);
  });

  it('refuses to run once closed', async () => {
    const other = await create(model);
    await other.close();
    await expect(other.run(digit(0), LOGITS)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('runs a UINT8 quantized input and returns the UINT8 quantized output of the graph', async () => {
    const typed = await create({ bytes: typedClassifierOnnx(PIXELS_UINT8) });
    try {
      expect(typed.inputs).toEqual([{ name: 'pixels', type: 'uint8', shape: [-1, 3, 8, 8] }]);
      for (let seed = 0; seed < 5; seed++) {
        const real = realInput(PIXELS_UINT8, seed);
        const out = await runTyped(typed, PIXELS_UINT8, real);
        expect(out).toBeInstanceOf(Uint8Array);
        // What the graph sees is the quantized input: the reference works from its real values.
        const seen = toRealValues(toTensorData(real, PIXELS_UINT8.input), PIXELS_UINT8.input);
        const want = typedClassifierReference(PIXELS_UINT8, seen);
        const got = toRealValues(out, PIXELS_UINT8.output);
        for (let k = 0; k < want.length; k++) expect(Math.abs(got[k]! - want[k]!)).toBeLessThanOrEqual(0.05);
      }
    } finally {
      await typed.close();
    }
  });

  it('runs an FP16 input as half bits and returns FP16 output bits', async () => {
    const typed = await create({ bytes: typedClassifierOnnx(HALF_FP16) });
    try {
      const real = realInput(HALF_FP16, 3);
      const out = await runTyped(typed, HALF_FP16, real);
      expect(out).toBeInstanceOf(Uint16Array);
      const want = typedClassifierReference(HALF_FP16, real);
      for (let k = 0; k < want.length; k++) {
        expect(halfBitsToFloat((out as Uint16Array)[k]!)).toBeCloseTo(want[k]!, 2);
      }
    } finally {
      await typed.close();
    }
  });

  it('returns the probabilities of a Softmax output', async () => {
    const typed = await create({ bytes: typedClassifierOnnx(PROBS_FP32) });
    try {
      const real = realInput(PROBS_FP32, 1);
      const out = (await runTyped(typed, PROBS_FP32, real)) as Float32Array;
      const want = typedClassifierReference(PROBS_FP32, real);
      for (let k = 0; k < want.length; k++) expect(out[k]).toBeCloseTo(want[k]!, 5);
    } finally {
      await typed.close();
    }
  });

  it('says which datatype an output really has when the caller expects another', async () => {
    await expect(runtime.run(digit(0), { name: 'logits', datatype: 'UINT8' })).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'device model output "logits" is float32, not uint8',
    });
  });
});

describe('runtime selection', () => {
  it('node and web give the same logits (within float tolerance)', async () => {
    const [node, web] = await Promise.all([selectRuntime('node', model), selectRuntime('web', model)]);
    const [a, b] = await Promise.all([node.run(digit(1), LOGITS), web.run(digit(1), LOGITS)]);
    for (let i = 0; i < 10; i++) expect(a[i]).toBeCloseTo(b[i]! as number, 3);
    await Promise.all([node.close(), web.close()]);
  });

  it('auto picks the native runtime where it loads', async () => {
    const runtime = await selectRuntime('auto', model);
    expect(runtime.kind).toBe('node');
    await runtime.close();
  });

  it('a corrupt model is INVALID_ARG, not a crash', async () => {
    await expect(createNodeRuntime({ bytes: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });
  });
});

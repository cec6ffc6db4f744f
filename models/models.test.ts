import { readFileSync, statSync } from 'node:fs';
import { loadDigits } from '@fogline/shared/digits';
import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DIGITS_MODELS,
  type DigitsModelName,
  evaluate,
  loadPrintedDigits,
  modelPath,
  openSession,
  readZoo,
  runLogits,
} from './digits-zoo.ts';

// The accuracy targets of the digits zoo, measured on the fixed test split (1,500 digits).
const MIN_TEST_ACCURACY: Record<DigitsModelName, number> = {
  'digits-tiny': 0.92,
  'digits-mid': 0.98,
  'digits-large': 0.988,
};
const MAX_BYTES: Partial<Record<DigitsModelName, number>> = {
  'digits-tiny': 100_000,
  'digits-mid': 2_000_000,
};
// Digits printed in 22 DejaVu fonts (never trained on): floors with a margin under what was measured
// (tiny 89.5 %, mid 97.7 %, large 99.1 %), so a retrain that loses robustness to unseen styles fails.
const MIN_PRINTED_ACCURACY: Record<DigitsModelName, number> = {
  'digits-tiny': 0.85,
  'digits-mid': 0.94,
  'digits-large': 0.97,
};
const TIER: Record<DigitsModelName, string> = {
  'digits-tiny': 'device',
  'digits-mid': 'edge',
  'digits-large': 'cloud',
};

const sessions = new Map<DigitsModelName, ort.InferenceSession>();
const accuracy = new Map<DigitsModelName, number>();
const printedAccuracy = new Map<DigitsModelName, number>();

beforeAll(async () => {
  const test = loadDigits('test');
  const printed = loadPrintedDigits();
  for (const name of DIGITS_MODELS) {
    const session = await openSession(name, 2);
    sessions.set(name, session);
    accuracy.set(name, await evaluate(session, test, 250));
    printedAccuracy.set(name, await evaluate(session, printed, 64));
  }
});

afterAll(async () => {
  for (const s of sessions.values()) await s.release();
});

describe.each(DIGITS_MODELS)('%s', (name) => {
  it('declares image [-1,1,28,28] -> logits [-1,10] in its config and its ONNX graph', () => {
    const config = JSON.parse(readFileSync(new URL(`./${name}/config.json`, import.meta.url), 'utf8'));
    expect(config.name).toBe(name);
    expect(config.tier).toBe(TIER[name]);
    expect(config.platform).toBe('onnxruntime_onnx');
    expect(config.inputs).toEqual([{ name: 'image', datatype: 'FP32', shape: [-1, 1, 28, 28] }]);
    expect(config.outputs).toEqual([{ name: 'logits', datatype: 'FP32', shape: [-1, 10] }]);
    expect(config.labels).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const session = sessions.get(name);
    expect(session?.inputNames).toEqual(['image']);
    expect(session?.outputNames).toEqual(['logits']);
  });

  it(`reaches at least ${MIN_TEST_ACCURACY[name] * 100} % on the test split`, () => {
    expect(accuracy.get(name)).toBeGreaterThanOrEqual(MIN_TEST_ACCURACY[name]);
  });

  it(`reads at least ${MIN_PRINTED_ACCURACY[name] * 100} % of printed digits it never saw`, () => {
    expect(printedAccuracy.get(name)).toBeGreaterThanOrEqual(MIN_PRINTED_ACCURACY[name]);
  });

  it('agrees with the accuracy the training script recorded (PyTorch vs onnxruntime)', () => {
    const recorded = readZoo().models[name].accuracy.test;
    expect(Math.abs((accuracy.get(name) ?? 0) - recorded)).toBeLessThanOrEqual(0.002);
  });

  it('fits its size limit and its recorded byte count', () => {
    const bytes = statSync(modelPath(name)).size;
    expect(bytes).toBe(readZoo().models[name].onnx_bytes);
    const max = MAX_BYTES[name];
    if (max !== undefined) expect(bytes).toBeLessThanOrEqual(max);
  });

  it('gives the same logits for a digit alone as inside a batch (dynamic batch axis)', async () => {
    const session = sessions.get(name);
    if (!session) throw new Error('no session');
    const test = loadDigits('test');
    const batch = await runLogits(session, test, 0, 7);
    const single = await runLogits(session, test, 3, 1);
    for (let k = 0; k < 10; k++) expect(single[k]).toBeCloseTo(batch[30 + k] ?? Number.NaN, 4);
  });
});

describe('the zoo as a whole', () => {
  it('makes the cloud model strictly more accurate than the edge model', () => {
    expect(accuracy.get('digits-large')).toBeGreaterThan(accuracy.get('digits-mid') ?? 1);
  });

  it('makes the cloud model the most robust on printed digits', () => {
    expect(printedAccuracy.get('digits-large')).toBeGreaterThan(printedAccuracy.get('digits-mid') ?? 1);
  });

  it('gives the cloud model at least 10x the FLOPs of the edge model', () => {
    const zoo = readZoo().models;
    expect(zoo['digits-large'].flops).toBeGreaterThanOrEqual(10 * zoo['digits-mid'].flops);
  });

  it('keeps the edge model to INT8-friendly operators', () => {
    const allowed = new Set(['Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Reshape']);
    for (const op of readZoo().models['digits-mid'].onnx_ops) expect(allowed.has(op)).toBe(true);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isFoglineError } from './errors.ts';
import { parseModelConfig } from './model-config.ts';

const midText = readFileSync(new URL('../../../models/digits-mid/config.json', import.meta.url), 'utf8');
const mid = (): Record<string, unknown> => JSON.parse(midText) as Record<string, unknown>;

function parseError(mutate: (c: Record<string, unknown>) => void): Error {
  const c = mid();
  mutate(c);
  try {
    parseModelConfig(c, 'm/config.json', 'digits-mid');
  } catch (err) {
    if (isFoglineError(err) && err.code === 'INVALID_ARG') return err;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('model config', () => {
  it('gives the committed digits config the documented defaults', () => {
    const config = parseModelConfig(mid(), 'm/config.json', 'digits-mid');
    expect(config.output_kind).toBe('logits');
    expect(config.preprocessing).toEqual({
      layout: 'NCHW',
      channel_order: 'GRAY',
      scale: 1 / 255,
      mean: [0],
      std: [1],
    });
    expect(config.labels).toHaveLength(10);
  });

  it('reads every tensor datatype, output_kind, quantization and preprocessing', () => {
    const c = mid();
    c.inputs = [{ name: 'pixels', datatype: 'UINT8', shape: [-1, 32, 32, 3] }];
    c.outputs = [
      { name: 'q', datatype: 'INT8', shape: [-1, 4], quantization: { scale: 0.05, zero_point: -3 } },
    ];
    c.output_kind = 'probabilities';
    c.labels = ['circle', 'square', 'triangle', 'cross'];
    c.preprocessing = { layout: 'NHWC', channel_order: 'BGR', scale: 1, mean: [1, 2, 3], std: 2 };
    const config = parseModelConfig(c, 'm/config.json', 'digits-mid');
    expect(config.inputs[0]).toEqual({ name: 'pixels', datatype: 'UINT8', shape: [-1, 32, 32, 3] });
    expect(config.outputs[0]?.quantization).toEqual({ scale: 0.05, zero_point: -3 });
    expect(config.output_kind).toBe('probabilities');
    expect(config.preprocessing).toEqual({
      layout: 'NHWC',
      channel_order: 'BGR',
      scale: 1,
      mean: [1, 2, 3],
      std: [2],
    });
  });

  it.each([
    [
      'inputs[0].datatype',
      (c: Record<string, unknown>) => ((c.inputs as { datatype: string }[])[0]!.datatype = 'FP64'),
    ],
    ['output_kind', (c: Record<string, unknown>) => (c.output_kind = 'softmax')],
    ['labels', (c: Record<string, unknown>) => (c.labels = ['a', 'b'])],
    [
      'labels',
      (c: Record<string, unknown>) => (c.labels = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '8']),
    ],
    [
      'outputs[0].quantization',
      (c: Record<string, unknown>) =>
        ((c.outputs as { quantization?: unknown }[])[0]!.quantization = { scale: 1 }),
    ],
    [
      'preprocessing.channel_order',
      (c: Record<string, unknown>) => (c.preprocessing = { channel_order: 'RGB' }),
    ],
    ['preprocessing.std', (c: Record<string, unknown>) => (c.preprocessing = { std: [0] })],
    ['preprocessing.mean', (c: Record<string, unknown>) => (c.preprocessing = { mean: [0, 0] })],
    ['preprocessing.layout', (c: Record<string, unknown>) => (c.preprocessing = { layout: 'CHW' })],
    ['drift', (c: Record<string, unknown>) => (c.drift = [0, 1])],
    ['drift.score', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, score: 'confidence' })],
    ['drift.model', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, model: '' })],
    ['drift.version', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, version: 0 })],
    ['drift.bins', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, bins: [0, 0.5, 0.5, 1] })],
    ['drift.bins', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, bins: [0, 0.5, 1.5] })],
    ['drift.reference', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, reference: [0.5, 0.5] })],
    ['drift.reference', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, reference: [0.2, 0.2, 0.2] })],
    [
      'drift.reference',
      (c: Record<string, unknown>) => (c.drift = { ...DRIFT, reference: [1.2, -0.1, -0.1] }),
    ],
    ['drift.records', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, records: 2.5 })],
    ['response_cache', (c: Record<string, unknown>) => (c.response_cache = true)],
    ['response_cache.enable', (c: Record<string, unknown>) => (c.response_cache = { enable: 'yes' })],
    ['response_cache.enable', (c: Record<string, unknown>) => (c.response_cache = {})],
    ['response_cache.size', (c: Record<string, unknown>) => (c.response_cache = { enable: true, size: 1 })],
    ['drift.baseline', (c: Record<string, unknown>) => (c.drift = { ...DRIFT, baseline: 0.01 })],
    [
      'drift.baseline.disagreement',
      (c: Record<string, unknown>) => (c.drift = { ...DRIFT, baseline: { ...BASELINE, disagreement: 1.5 } }),
    ],
    [
      'drift.baseline.cloudAccuracy',
      (c: Record<string, unknown>) =>
        (c.drift = { ...DRIFT, baseline: { disagreement: 0, edgeAgreement: 1 } }),
    ],
    [
      'drift.baseline.cloudScores',
      (c: Record<string, unknown>) => (c.drift = { ...DRIFT, baseline: { ...BASELINE, cloudScores: 1 } }),
    ],
    [
      'drift.baseline.cloudScores.reference',
      (c: Record<string, unknown>) =>
        (c.drift = { ...DRIFT, baseline: { ...BASELINE, cloudScores: { ...DRIFT, reference: [1, 0] } } }),
    ],
    [
      'drift.baseline.cloudScores.baseline',
      (c: Record<string, unknown>) =>
        (c.drift = {
          ...DRIFT,
          baseline: { ...BASELINE, cloudScores: { ...DRIFT, baseline: BASELINE } },
        }),
    ],
  ])('refuses a bad %s, naming the file and the field', (field, mutate) => {
    const err = parseError(mutate);
    expect(err.message).toContain('m/config.json');
    expect(err.message).toContain(`field "${field}"`);
  });

  it('reads a drift block as written, and leaves it out when the config has none', () => {
    // The committed config carries the block `fogline calibrate --drift-only` wrote.
    expect(parseModelConfig(mid(), 'm/config.json', 'digits-mid').drift).toMatchObject({
      model: 'digits-tiny',
    });
    const c = mid();
    delete c.drift;
    expect(parseModelConfig(c, 'm/config.json', 'digits-mid').drift).toBeUndefined();
    c.drift = DRIFT;
    expect(parseModelConfig(c, 'm/config.json', 'digits-mid').drift).toEqual(DRIFT);
    c.drift = { ...DRIFT, baseline: BASELINE };
    expect(parseModelConfig(c, 'm/config.json', 'digits-mid').drift?.baseline).toEqual(BASELINE);
    const cloudScores = { ...DRIFT, model: 'digits-large' };
    c.drift = { ...DRIFT, baseline: { ...BASELINE, cloudScores } };
    expect(parseModelConfig(c, 'm/config.json', 'digits-mid').drift?.baseline?.cloudScores).toEqual(
      cloudScores,
    );
  });

  it('keeps response_cache only when it is enabled (absent and enable: false both mean off)', () => {
    const parse = (responseCache: unknown) => {
      const c = mid();
      if (responseCache !== undefined) c.response_cache = responseCache;
      return parseModelConfig(c, 'm/config.json', 'digits-mid').response_cache;
    };
    expect(parse(undefined)).toBeUndefined();
    expect(parse({ enable: false })).toBeUndefined();
    expect(parse({ enable: true })).toEqual({ enable: true });
  });
});

/** The calibrated cascade's figures the controller compares the field with. */
const BASELINE = { disagreement: 0.004, edgeAgreement: 0.985, cloudAccuracy: 0.99 };

/** A device score histogram on three bins, as `fogline calibrate` writes it. */
const DRIFT = {
  score: 'margin',
  model: 'digits-tiny',
  version: 1,
  bins: [0, 0.4, 0.9, 1],
  reference: [0.3, 0.3, 0.4],
  records: 1500,
};

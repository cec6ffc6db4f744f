import { describe, expect, it } from 'vitest';
import { cascadeProblems, checkCascade, findCascade } from './cascade.ts';
import { DEFAULT_MODELS_DIR, loadModelRepository, type ModelEntry } from './repository.ts';

const repo = await loadModelRepository(DEFAULT_MODELS_DIR);

function withConfig(entry: ModelEntry, change: Record<string, unknown>): ModelEntry {
  return { ...entry, config: { ...entry.config, ...change } } as ModelEntry;
}

describe('cascade', () => {
  it('picks the digits cascade, preferring the int8 edge model', () => {
    const cascade = findCascade(repo);
    expect([cascade.device.name, cascade.edge.name, cascade.cloud.name]).toEqual([
      'digits-tiny',
      'digits-mid-int8',
      'digits-large',
    ]);
    expect(cascadeProblems(cascade)).toEqual([]);
    expect(findCascade(repo, { edge: 'digits-mid' }).edge.name).toBe('digits-mid');
  });

  it('refuses a model named for the wrong tier', () => {
    expect(() => findCascade(repo, { edge: 'digits-large' })).toThrow(/"digits-large" is a cloud model/);
  });

  it('names every incompatibility: shape, classes, label set, label order and preprocessing', () => {
    const base = findCascade(repo);
    const labels = base.cloud.config.labels;
    const edgeInput = { ...base.edge.config.inputs[0]!, shape: [-1, 3, 28, 28] };
    const cascade = {
      ...base,
      edge: withConfig(base.edge, { inputs: [edgeInput] }),
      cloud: withConfig(base.cloud, {
        labels: [...labels].reverse(),
        preprocessing: { ...base.cloud.config.preprocessing, mean: [0.5] },
      }),
    };
    expect(cascadeProblems(cascade)).toEqual([
      expect.stringMatching(
        /edge model "digits-mid-int8".*input shape \[3, 28, 28\] differs from \[1, 28, 28\]/,
      ),
      expect.stringMatching(/cloud model "digits-large".*labels are in another order/),
      expect.stringMatching(/cloud model "digits-large".*preprocessing\.mean \(\[0\.5\] vs \[0\]\) differs/),
    ]);
    const other = { ...base, cloud: withConfig(base.cloud, { labels: labels.map((l) => `x${l}`) }) };
    expect(() => checkCascade(other)).toThrow(/label sets differ/);
    const fewer = { ...base.cloud.config.outputs[0]!, shape: [-1, 9] };
    const nine = { ...base, cloud: withConfig(base.cloud, { outputs: [fewer], labels: [] }) };
    expect(cascadeProblems(nine)).toEqual([
      expect.stringMatching(/9 output classes, "digits-tiny" has 10/),
      expect.stringMatching(/one config names its labels and the other does not/),
    ]);
  });

  it('lets tiers differ in input names and datatypes, which every tier converts', () => {
    const base = findCascade(repo);
    const input = {
      name: 'pixels',
      datatype: 'UINT8',
      shape: [-1, 1, 28, 28],
      quantization: { scale: 1 / 255, zero_point: 0 },
    };
    const half = { ...base.cloud.config.inputs[0]!, name: 'x', datatype: 'FP16' };
    const cascade = {
      ...base,
      device: withConfig(base.device, { inputs: [input] }),
      cloud: withConfig(base.cloud, { inputs: [half] }),
    };
    expect(cascadeProblems(cascade)).toEqual([]);
  });
});

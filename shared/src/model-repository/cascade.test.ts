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

  it('names every incompatibility: shape, datatype, classes, label set and label order', () => {
    const base = findCascade(repo);
    const labels = base.cloud.config.labels;
    const edgeInput = { ...base.edge.config.inputs[0]!, shape: [-1, 3, 28, 28], datatype: 'FP16' };
    const cascade = {
      ...base,
      edge: withConfig(base.edge, { inputs: [edgeInput] }),
      cloud: withConfig(base.cloud, { labels: [...labels].reverse() }),
    };
    const problems = cascadeProblems(cascade);
    expect(problems).toEqual([
      expect.stringMatching(
        /edge model "digits-mid-int8".*input shape \[3, 28, 28\] differs from \[1, 28, 28\]/,
      ),
      expect.stringMatching(/input datatype FP16 differs from FP32/),
      expect.stringMatching(/cloud model "digits-large".*labels are in another order/),
    ]);
    const other = { ...base, cloud: withConfig(base.cloud, { labels: labels.map((l) => `x${l}`) }) };
    expect(() => checkCascade(other)).toThrow(/label sets differ/);
  });
});

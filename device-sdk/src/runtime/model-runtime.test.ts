/** Contract test: every runtime gives the same logits for the committed digits-tiny model. */
import { readFileSync } from 'node:fs';
import { argmax } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRuntime, RuntimeModel } from './model-runtime.ts';
import { createNodeRuntime } from './node-runtime.ts';
import { selectRuntime } from './select-runtime.ts';
import { createWebRuntime } from './web-runtime.ts';

const model: RuntimeModel = {
  bytes: readFileSync(`${DEFAULT_MODELS_DIR}/digits-tiny/1/model.onnx`),
  inputShape: [1, 1, 28, 28],
};
const digits = loadDigits('test');
const sample = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);

describe.each([
  ['node', createNodeRuntime],
  ['web', createWebRuntime],
] as const)('%s runtime', (kind, create) => {
  let runtime: ModelRuntime;
  beforeAll(async () => {
    runtime = await create(model);
  });
  afterAll(() => runtime.close());

  it('reports its kind and returns 10 logits', async () => {
    expect(runtime.kind).toBe(kind);
    expect((await runtime.run(sample(0))).length).toBe(10);
  });

  it('classifies most test digits correctly, with concurrent calls', async () => {
    const n = 50;
    const logits = await Promise.all(Array.from({ length: n }, (_, i) => runtime.run(sample(i))));
    const correct = logits.filter((l, i) => argmax(l) === digits.labels[i]).length;
    expect(correct / n).toBeGreaterThan(0.8);
  });

  it('refuses to run once closed', async () => {
    const other = await create(model);
    await other.close();
    await expect(other.run(sample(0))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('runtime selection', () => {
  it('node and web give the same logits (within float tolerance)', async () => {
    const [node, web] = await Promise.all([selectRuntime('node', model), selectRuntime('web', model)]);
    const [a, b] = await Promise.all([node.run(sample(1)), web.run(sample(1))]);
    for (let i = 0; i < 10; i++) expect(a[i]).toBeCloseTo(b[i]!, 3);
    await Promise.all([node.close(), web.close()]);
  });

  it('auto picks the native runtime where it loads', async () => {
    const runtime = await selectRuntime('auto', model);
    expect(runtime.kind).toBe('node');
    await runtime.close();
  });

  it('a corrupt model is INVALID_ARG, not a crash', async () => {
    await expect(createNodeRuntime({ ...model, bytes: new Uint8Array([1, 2, 3]) })).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });
  });
});

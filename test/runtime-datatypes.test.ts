/**
 * The shared runtime (inference engine, batch runner, model instance) on models whose tensors are FP32,
 * FP16, UINT8 or INT8 per their config: rows of any element size batched together, each request
 * answered with its own rows as the typed arrays of the output's datatype, equal to onnxruntime run
 * directly on the same input. Real onnxruntime workers on models built with the toolchain's builder.
 */
import { rmSync } from 'node:fs';
import { type TensorData, TYPED_ARRAY_OF, toRealValues } from '@fogline/shared';
import { loadModelEntry } from '@fogline/shared/model-repository';
import { ModelInstance } from '@fogline/shared/runtime';
import { runTypedClassifier, type TypedClassifier, typedRepository } from '@fogline/toolchain/testing';
import { afterAll, describe, expect, it } from 'vitest';

const labels = ['circle', 'square', 'star', 'triangle'];
const sample = [3, 4, 4];
const MODELS: TypedClassifier[] = [
  {
    name: 'u8-in-int8-probs',
    tier: 'edge',
    input: { name: 'pixels', datatype: 'UINT8', quantization: { scale: 1 / 255, zero_point: 0 } },
    output: { name: 'probs', datatype: 'INT8', quantization: { scale: 1 / 256, zero_point: -128 } },
    outputKind: 'probabilities',
    sample,
    classes: labels.length,
    labels,
    seed: 1,
  },
  {
    name: 'half',
    tier: 'edge',
    input: { name: 'pixels', datatype: 'FP16' },
    output: { name: 'scores', datatype: 'FP16' },
    outputKind: 'logits',
    sample,
    classes: labels.length,
    labels,
    seed: 2,
  },
  {
    name: 'i8-in',
    tier: 'edge',
    input: { name: 'pixels', datatype: 'INT8', quantization: { scale: 0.02, zero_point: 3 } },
    output: { name: 'logits', datatype: 'FP32' },
    outputKind: 'logits',
    sample,
    classes: labels.length,
    labels,
    seed: 3,
  },
];
const dir = typedRepository(MODELS);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ELEMENTS = 48;
/** `rows` deterministic samples in the input's datatype, laid end to end. */
function inputRows(m: TypedClassifier, rows: number, offset: number): TensorData {
  const Typed = TYPED_ARRAY_OF[m.input.datatype];
  const data = new Typed(rows * ELEMENTS);
  for (let i = 0; i < data.length; i++) {
    const v = Math.sin((i + offset) * 0.7) * 0.5 + 0.5; // 0..1
    if (m.input.datatype === 'FP16')
      (data as Uint16Array)[i] = 0x3800 + Math.round(v * 0x3ff); // 0.5..1
    else if (m.input.datatype === 'UINT8') (data as Uint8Array)[i] = Math.round(v * 255);
    else (data as Int8Array)[i] = Math.round(v * 200 - 100);
  }
  return data as TensorData;
}

const bytesOf = (d: TensorData) => {
  const v = d as ArrayBufferView;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
};

describe.each(MODELS)('a $input.datatype → $output.datatype model in the runtime', (m) => {
  it('batches rows of its element size and answers each with its own rows, as onnxruntime does', async () => {
    const entry = await loadModelEntry(dir, m.name);
    const instance = await ModelInstance.load(entry, 1, { workers: 1, intraOpThreads: 1 });
    try {
      const items = [1, 1, 2, 1, 1].map((batch, i) => ({ batch, data: inputRows(m, batch, i * 97) }));
      const answers = await Promise.all(
        items.map((item) => instance.infer({ batch: item.batch, inputs: [bytesOf(item.data)] })),
      );
      expect(instance.batcher.stats.snapshot().executions).toBeLessThan(items.length);
      const Typed = TYPED_ARRAY_OF[m.output.datatype];
      for (let i = 0; i < items.length; i++) {
        const out = answers[i]![m.output.name]!;
        expect(out.data).toBeInstanceOf(Typed);
        expect(out.dims).toEqual([items[i]!.batch, labels.length]);
        const got = toRealValues(out.data as TensorData, m.output);
        for (let row = 0; row < items[i]!.batch; row++) {
          const one = (items[i]!.data as Uint8Array).subarray(row * ELEMENTS, (row + 1) * ELEMENTS);
          const direct = toRealValues((await runTypedClassifier(dir, m, one)) as TensorData, m.output);
          const step = m.output.quantization?.scale ?? 1e-3;
          for (let k = 0; k < labels.length; k++) {
            expect(Math.abs(got[row * labels.length + k]! - direct[k]!)).toBeLessThanOrEqual(step);
          }
        }
      }
    } finally {
      await instance.retire();
    }
  });
});

import { type InferRequest, parseModelConfig } from '@fogline/shared';
import type { TensorMap } from '@fogline/shared/runtime';
import { describe, expect, it } from 'vitest';
import type { InferPlan } from './infer-input.ts';
import { encodeInferResponse, ReplyHeaderMemo } from './infer-response.ts';

const config = parseModelConfig(
  {
    name: 'm',
    tier: 'cloud',
    platform: 'onnxruntime_onnx',
    max_batch_size: 4,
    inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [
      { name: 'logits', datatype: 'FP32', shape: [-1, 3] },
      { name: 'embedding', datatype: 'FP32', shape: [-1, 2] },
    ],
  },
  'config.json',
  'm',
);

/** What onnxruntime would answer for a batch of `batch`, every value distinct per call. */
let calls = 0;
function outputsOf(batch: number): TensorMap {
  calls++;
  const values = (n: number) => Float32Array.from({ length: n }, (_, i) => calls * 100 + i);
  return {
    logits: { data: values(batch * 3), dims: [batch, 3] },
    embedding: { data: values(batch * 2), dims: [batch, 2] },
  };
}

const plan = (batch: number, outputs = ['logits', 'embedding']): InferPlan => ({
  item: { batch, inputs: [] },
  outputs,
});

const binary: InferRequest = { inputs: [], parameters: { binary_data_output: true } };

describe('encodeInferResponse with a version’s reply-header memo', () => {
  it('answers the same bytes as without it, whatever changes between replies', () => {
    const memo = new ReplyHeaderMemo();
    const cases: [InferRequest, InferPlan, number][] = [
      [binary, plan(1), 1], // remembered
      [binary, plan(1), 1], // from the memo
      [binary, plan(2), 2], // another batch: other shapes and sizes
      [binary, plan(1, ['embedding']), 1], // another set of outputs
      [binary, plan(1, ['embedding', 'logits']), 1], // another order
      [{ ...binary, id: 'r-7' }, plan(1), 1], // an id to echo
      [{ inputs: [] }, plan(1), 1], // all JSON
      [
        {
          inputs: [],
          outputs: [{ name: 'logits', parameters: { binary_data: true } }, { name: 'embedding' }],
        },
        plan(1),
        1,
      ], // mixed
      [binary, plan(1), 1],
    ];
    for (const [request, p, batch] of cases) {
      const outputs = outputsOf(batch);
      const remembered = encodeInferResponse('m', 3, request, p, outputs, config, memo);
      const plain = encodeInferResponse('m', 3, request, p, outputs, config);
      expect(remembered.headerLength).toBe(plain.headerLength);
      expect(remembered.binary).toBe(plain.binary);
      expect(Buffer.from(remembered.body).equals(Buffer.from(plain.body))).toBe(true);
    }
    // Another model name or version on the same memo is not answered from it.
    const outputs = outputsOf(1);
    const other = encodeInferResponse('m', 4, binary, plan(1), outputs, config, memo);
    const text = Buffer.from(other.body.subarray(0, other.headerLength)).toString();
    expect(JSON.parse(text).model_version).toBe('4');
  });
});

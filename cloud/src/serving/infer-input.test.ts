import { decodeInferBody, encodeInferBody, type InferRequestHeader, parseModelConfig } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import {
  codecLimitsFor,
  MAX_REQUEST_DEADLINE_MS,
  planInfer,
  RequestHeaderMemo,
  requestDeadlineMs,
} from './infer-input.ts';

const config = parseModelConfig(
  {
    name: 'm',
    tier: 'cloud',
    platform: 'onnxruntime_onnx',
    max_batch_size: 4,
    inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 2, 2] }],
    outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 3] }],
  },
  'config.json',
  'm',
);

/** Decodes a JSON request the way the gateway does, then validates it against the model. */
function plan(request: unknown) {
  const body = new TextEncoder().encode(JSON.stringify(request));
  const decoded = decodeInferBody(body, body.length, codecLimitsFor(config, 4));
  if (decoded.kind !== 'request') throw new Error('not a request');
  return planInfer('m', config, 4, decoded.header, decoded.tensors);
}

const input = (over: Record<string, unknown> = {}) => ({
  name: 'image',
  datatype: 'FP32',
  shape: [1, 1, 2, 2],
  data: [0, 1, 0, 1],
  ...over,
});

describe('planInfer (validation before onnxruntime)', () => {
  it('accepts flat and nested data and reports the batch and outputs', () => {
    const flat = plan({ inputs: [input()] });
    expect(flat.item.batch).toBe(1);
    expect(flat.outputs).toEqual(['logits']);
    expect(new Float32Array(flat.item.inputs[0]!.slice().buffer)).toEqual(new Float32Array([0, 1, 0, 1]));
    const nested = plan({
      inputs: [
        input({
          shape: [2, 1, 2, 2],
          data: [
            [
              [
                [0, 1],
                [0, 1],
              ],
            ],
            [
              [
                [1, 1],
                [1, 1],
              ],
            ],
          ],
        }),
      ],
    });
    expect(nested.item.batch).toBe(2);
  });

  it.each([
    ['an unknown input name', { inputs: [input(), input({ name: 'extra' })] }, /no input "extra"/],
    ['a missing input', { inputs: [] }, /input "image" is missing/],
    [
      'a wrong datatype',
      { inputs: [input({ datatype: 'INT32' })] },
      /datatype INT32, the model expects FP32/,
    ],
    ['an unknown datatype', { inputs: [input({ datatype: 'FLOAT' })] }, /unknown datatype/],
    ['a wrong rank', { inputs: [input({ shape: [1, 4], data: [0, 1, 0, 1] })] }, /shape \[1,4\]/],
    ['a wrong non-batch dim', { inputs: [input({ shape: [1, 1, 4, 1] })] }, /the model expects \[-1,1,2,2\]/],
    [
      'data shorter than the shape',
      { inputs: [input({ data: [0, 1, 0] })] },
      /3 elements but its shape needs 4/,
    ],
    [
      'data longer than the shape',
      { inputs: [input({ data: [0, 1, 0, 1, 1] })] },
      /more elements than its shape/,
    ],
    ['a non-number element', { inputs: [input({ data: [0, 1, 'x', 1] })] }, /is not a FP32 number/],
    [
      'a batch over max_batch_size',
      { inputs: [input({ shape: [5, 1, 2, 2], data: new Array(20).fill(0) })] },
      /outside 1\.\.4/,
    ],
    ['an empty batch', { inputs: [input({ shape: [0, 1, 2, 2], data: [] })] }, /outside 1\.\.4/],
    [
      'an absurd shape',
      { inputs: [input({ shape: [1e9, 1e9, 2, 2] })] },
      /exceeds the limit|more than the limit/,
    ],
    ['a negative dim', { inputs: [input({ shape: [-1, 1, 2, 2] })] }, /non-negative integer/],
    ['an unknown requested output', { inputs: [input()], outputs: [{ name: 'probs' }] }, /no output "probs"/],
    ['inputs that are not an array', { inputs: 'image' }, /inputs must be an array/],
  ])('refuses %s with INVALID_ARG', (_, request, message) => {
    let caught: unknown;
    try {
      plan(request);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'INVALID_ARG' });
    expect((caught as Error).message).toMatch(message);
  });

  it('refuses binary sizes that do not add up', () => {
    const header = new TextEncoder().encode(
      JSON.stringify({ inputs: [{ ...input(), data: undefined, parameters: { binary_data_size: 12 } }] }),
    );
    const body = new Uint8Array(header.length + 12);
    body.set(header);
    expect(() => decodeInferBody(body, header.length, codecLimitsFor(config, 4))).toThrow(
      /binary_data_size is 12 bytes/,
    );
    expect(() => decodeInferBody(body, header.length + 100, codecLimitsFor(config, 4))).toThrow(
      /runs past the end/,
    );
  });

  it('reads parameters.deadline_ms: capped, none left is DEADLINE_EXCEEDED, not a number INVALID_ARG', () => {
    const deadline = (value: unknown) =>
      requestDeadlineMs({ inputs: [], parameters: { deadline_ms: value as number } });
    expect(requestDeadlineMs({ inputs: [] })).toBeUndefined();
    expect(deadline(250)).toBe(250);
    expect(deadline(10 * MAX_REQUEST_DEADLINE_MS)).toBe(MAX_REQUEST_DEADLINE_MS);
    expect(() => deadline(0)).toThrow(expect.objectContaining({ code: 'DEADLINE_EXCEEDED' }));
    expect(() => deadline('soon')).toThrow(expect.objectContaining({ code: 'INVALID_ARG' }));
  });
});

describe('RequestHeaderMemo (a version’s last binary request header)', () => {
  const two = parseModelConfig(
    {
      name: 'two',
      tier: 'cloud',
      platform: 'onnxruntime_onnx',
      max_batch_size: 4,
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [-1, 2] },
        { name: 'b', datatype: 'INT8', shape: [-1, 3] },
      ],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
    },
    'config.json',
    'two',
  );
  const limits = codecLimitsFor(two, 4);

  /** A binary request with `b` before `a` (the config's order is a, b), values from `seed`. */
  function body(seed: number, header: InferRequestHeader = {}, batch = 1) {
    const encoded = encodeInferBody(header, [
      {
        name: 'b',
        datatype: 'INT8',
        shape: [batch, 3],
        data: Int8Array.from({ length: 3 * batch }, (_, i) => seed + i),
      },
      {
        name: 'a',
        datatype: 'FP32',
        shape: [batch, 2],
        data: Float32Array.from({ length: 2 * batch }, (_, i) => seed * 10 + i),
      },
    ]);
    return { body: encoded.body, headerLength: encoded.headerLength };
  }

  /** As the infer route does: recalled, or decoded, planned and remembered. */
  function served(memo: RequestHeaderMemo, b: { body: Uint8Array; headerLength: number }) {
    const recalled = memo.recall(b.body, b.headerLength);
    if (recalled) return { ...recalled, recalled: true };
    const decoded = decodeInferBody(b.body, b.headerLength, limits);
    if (decoded.kind !== 'request') throw new Error('not a request');
    const plan = planInfer('two', two, 4, decoded.header, decoded.tensors);
    memo.remember(b.body, b.headerLength, two, decoded.header, plan);
    return { header: decoded.header, plan, recalled: false };
  }

  function planned(b: { body: Uint8Array; headerLength: number }) {
    const decoded = decodeInferBody(b.body, b.headerLength, limits);
    if (decoded.kind !== 'request') throw new Error('not a request');
    return { header: decoded.header, plan: planInfer('two', two, 4, decoded.header, decoded.tensors) };
  }

  it('answers each request its own tensors, and the same header and plan as decoding it would', () => {
    const memo = new RequestHeaderMemo();
    const bodies = [
      body(1), // decoded, remembered
      body(2), // same header, other values: recalled
      body(3, {}, 2), // another batch
      body(4, { id: 'x1' }), // an id
      body(5, { id: 'x1' }), // the same id: a header with an id is never kept
      body(6, { parameters: { binary_data_output: true, tag: 'a' } }),
      body(7, { parameters: { binary_data_output: true, tag: 'a' } }),
      body(8, { parameters: { binary_data_output: true, tag: 'b' } }), // as long, other bytes
    ];
    const recalled = bodies.map((b) => {
      const got = served(memo, b);
      const want = planned(b);
      expect(got.header).toEqual(want.header);
      expect(got.plan.outputs).toEqual(want.plan.outputs);
      expect(got.plan.item.batch).toBe(want.plan.item.batch);
      expect(got.plan.item.inputs.map((x) => [...x])).toEqual(want.plan.item.inputs.map((x) => [...x]));
      return got.recalled;
    });
    expect(recalled).toEqual([false, true, false, false, false, false, true, false]);
  });

  it('keeps no header with a JSON input', () => {
    const memo = new RequestHeaderMemo();
    const encoded = encodeInferBody(
      {},
      [
        { name: 'a', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) },
        { name: 'b', datatype: 'INT8', shape: [1, 3], data: new Int8Array([1, 2, 3]) },
      ],
      { binary: (t) => t.name === 'b' },
    );
    const b = { body: encoded.body, headerLength: encoded.headerLength };
    served(memo, b);
    expect(memo.recall(b.body, b.headerLength)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { FoglineError } from '../errors.ts';
import { decodeInferBody } from './infer-body.ts';
import { decodeInferMessage } from './infer-message.ts';

const utf8 = new TextEncoder();

/** A body made of a JSON header (object or raw text) followed by raw chunks. */
function body(header: unknown, ...chunks: number[][]): { bytes: Uint8Array; headerLength: number } {
  const json = utf8.encode(typeof header === 'string' ? header : JSON.stringify(header));
  const tail = chunks.flat();
  const bytes = new Uint8Array(json.length + tail.length);
  bytes.set(json);
  bytes.set(tail, json.length);
  return { bytes, headerLength: json.length };
}

function request(input: Record<string, unknown>): Record<string, unknown> {
  return { inputs: [{ name: 'image', shape: [1], datatype: 'FP32', ...input }] };
}

function expectInvalid(run: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FoglineError);
  expect((caught as FoglineError).code).toBe('INVALID_ARG');
  expect((caught as FoglineError).message).toMatch(message);
}

function decodes(header: unknown, ...chunks: number[][]): () => unknown {
  const { bytes, headerLength } = body(header, ...chunks);
  return () => decodeInferBody(bytes, headerLength);
}

const bin = (size: number) => ({ parameters: { binary_data_size: size } });

describe('malformed inference bodies are refused with INVALID_ARG naming the problem', () => {
  it('header length out of range', () => {
    const { bytes } = body(request({ data: [1] }));
    expectInvalid(() => decodeInferBody(bytes, bytes.length + 1), /header length \d+ runs past the end/);
    for (const n of [0, -1, 1.5, Number.NaN]) {
      expectInvalid(() => decodeInferBody(bytes, n), /must be a positive integer/);
    }
  });

  it('header that is not JSON, not UTF-8, or not an object', () => {
    expectInvalid(decodes('{"inputs": ['), /not valid UTF-8 JSON/);
    const { bytes } = body('{}');
    bytes[0] = 0xff;
    expectInvalid(() => decodeInferBody(bytes, bytes.length), /not valid UTF-8 JSON/);
    for (const text of ['[1]', '"x"', 'null', '3']) expectInvalid(decodes(text), /must be a JSON object/);
    expectInvalid(decodes({ foo: 1 }), /neither "inputs"/);
  });

  it('malformed header fields', () => {
    expectInvalid(decodes({ inputs: {} }), /inputs must be an array/);
    expectInvalid(decodes({ inputs: [7] }), /inputs\[0\] must be an object/);
    expectInvalid(decodes({ inputs: [{ shape: [1] }] }), /inputs\[0\].name must be a non-empty string/);
    expectInvalid(decodes({ id: 5, inputs: [] }), /id must be a string/);
    expectInvalid(decodes({ parameters: [], inputs: [] }), /parameters must be an object/);
    expectInvalid(
      decodes(request({ data: [1], parameters: { x: { y: 1 } } })),
      /input "image": parameter "x"/,
    );
    const twice = { inputs: [request({ data: [1] }).inputs, request({ data: [1] }).inputs].flat() };
    expectInvalid(decodes(twice), /input "image" appears more than once/);
    expectInvalid(decodes({ model_name: 3, outputs: [] }), /model_name must be a string/);
    expectInvalid(decodes({ inputs: [], outputs: [{ name: '' }] }), /outputs\[0\].name/);
    const many = {
      inputs: Array.from({ length: 65 }, (_, i) => ({
        name: `t${i}`,
        shape: [0],
        datatype: 'INT8',
        data: [],
      })),
    };
    expectInvalid(decodes(many), /65 inputs, more than the limit of 64/);
  });

  it('unknown datatype', () => {
    expectInvalid(
      decodes(request({ datatype: 'FLOAT', data: [1] })),
      /input "image": unknown datatype "FLOAT"/,
    );
    expectInvalid(decodes(request({ datatype: undefined, data: [1] })), /input "image": unknown datatype/);
  });

  it('negative, non-integer, absurd or too-deep shapes', () => {
    expectInvalid(
      decodes(request({ shape: [-1], data: [] })),
      /input "image": shape\[0\] = -1 must be a non-negative/,
    );
    expectInvalid(decodes(request({ shape: [1.5], data: [1] })), /shape\[0\] = 1.5/);
    expectInvalid(decodes(request({ shape: ['2'], data: [1] })), /shape\[0\] = "2"/);
    expectInvalid(decodes(request({ shape: 4, data: [1] })), /shape must be an array/);
    expectInvalid(
      decodes(request({ shape: [65536, 65536], ...bin(0) })),
      /more than the limit of 67108864 elements/,
    );
    expectInvalid(
      decodes(request({ shape: [0, 1e300], ...bin(0) })),
      /shape\[1\] = 1e\+300 exceeds the limit/,
    );
    expectInvalid(
      decodes(request({ shape: [1, 1, 1, 1, 1, 1, 1, 1, 1], data: [1] })),
      /rank 9, more than the limit of 8/,
    );
    const { bytes, headerLength } = body(request({ shape: [5], ...bin(20) }), new Array(20).fill(0));
    expectInvalid(() => decodeInferBody(bytes, headerLength, { maxElements: 4 }), /limit of 4 elements/);
  });

  it('binary byte count that does not match shape × element size', () => {
    expectInvalid(
      decodes(request({ shape: [3], ...bin(8) }), new Array(8).fill(0)),
      /input "image": binary_data_size is 8 bytes but 3 FP32 elements need 12/,
    );
    expectInvalid(decodes(request({ ...bin(-4) })), /binary_data_size must be a non-negative integer/);
    expectInvalid(decodes(request({ ...bin(2.5) })), /binary_data_size must be a non-negative integer/);
  });

  it('truncated binary data and trailing bytes', () => {
    expectInvalid(
      decodes(request({ shape: [2], ...bin(8) }), [0, 0, 0, 0]),
      /binary_data_size 8 runs past the end of the body \(4 bytes left\)/,
    );
    expectInvalid(decodes(request({ ...bin(4) }), [0, 0, 0, 0, 9]), /1 bytes after the last binary tensor/);
    expectInvalid(decodes(request({ data: [1] }), [0]), /1 bytes after the last binary tensor/);
    expectInvalid(decodes({ error: 'x' }, [1, 2]), /2 bytes after/);
  });

  it('BYTES elements: truncated prefix, overlong element, unused bytes', () => {
    const bytes = (shape: number[], raw: number[]) =>
      decodes({ inputs: [{ name: 's', shape, datatype: 'BYTES', ...bin(raw.length) }] }, raw);
    expectInvalid(
      bytes([2], [1, 0, 0, 0, 65, 1, 0]),
      /input "s": BYTES element 1 of 2: length prefix runs past/,
    );
    expectInvalid(bytes([1], [9, 0, 0, 0, 65]), /BYTES element 0 declares 9 bytes but only 1 remain/);
    expectInvalid(bytes([1], [1, 0, 0, 0, 65, 66]), /its 1 BYTES elements use 5/);
    expectInvalid(bytes([67108864], [0, 0, 0, 0]), /BYTES element 1 of 67108864/);
  });

  it('BOOL bytes other than 0 and 1', () => {
    expectInvalid(
      decodes(request({ datatype: 'BOOL', shape: [3], ...bin(3) }), [0, 1, 2]),
      /BOOL element 2 is 2/,
    );
  });

  it('JSON data: wrong length, wrong types, out of range, FP16, nesting', () => {
    expectInvalid(
      decodes(request({ shape: [4], data: [1, 2, 3] })),
      /input "image": data has 3 elements but its shape needs 4/,
    );
    expectInvalid(
      decodes(request({ shape: [2], data: [1, 2, 3] })),
      /more elements than its shape needs \(2\)/,
    );
    expectInvalid(decodes(request({ data: ['1'] })), /data\[0\] = "1" is not a FP32 number/);
    expectInvalid(decodes(request({ data: 1 })), /data must be an array/);
    expectInvalid(
      decodes(request({ datatype: 'INT8', data: [200] })),
      /data\[0\] = 200 is not an integer in \[-128, 127\]/,
    );
    expectInvalid(decodes(request({ datatype: 'UINT32', data: [0.5] })), /is not an integer/);
    expectInvalid(decodes(request({ datatype: 'INT64', data: [2 ** 60] })), /is not an integer/);
    expectInvalid(decodes(request({ datatype: 'BOOL', data: [1] })), /is not true or false/);
    expectInvalid(decodes(request({ datatype: 'BYTES', data: [1] })), /is not a string/);
    expectInvalid(decodes(request({ datatype: 'FP16', data: [1] })), /FP16 has no JSON representation/);
    expectInvalid(decodes(request({ shape: [1, 1], data: [[[1]]] })), /nested deeper than its shape/);
    // One error per body, the same whichever datatype: structure first, then the count, then the
    // first bad element.
    for (const datatype of ['FP32', 'INT8', 'INT64']) {
      const bad = (shape: number[], data: unknown) => decodes(request({ datatype, shape, data }));
      expectInvalid(bad([2], ['x', 1, [2]]), /nested deeper than its shape/);
      expectInvalid(bad([2], ['x', 1, 2]), /more elements than its shape needs \(2\)/);
      expectInvalid(bad([3], [1, 'x']), /data has 2 elements but its shape needs 3/);
      const rows = [
        [1, 2],
        [3.5, 'x'],
      ];
      const first =
        datatype === 'FP32' ? /data\[3\] = "x" is not a FP32/ : /data\[2\] = 3\.5 is not an integer/;
      expectInvalid(bad([2, 2], rows), first);
    }
    expectInvalid(decodes(request({})), /has neither data nor binary_data_size/);
    expectInvalid(
      decodes(request({ data: [1], ...bin(4) }), [0, 0, 0, 0]),
      /has both binary_data_size and JSON data/,
    );
  });

  it('framed messages shorter than their header length', () => {
    expectInvalid(
      () => decodeInferMessage(new Uint8Array(3)),
      /3 bytes, shorter than its 4-byte header length/,
    );
    expectInvalid(
      () => decodeInferMessage(Uint8Array.of(10, 0, 0, 0, 123)),
      /header length 10 runs past the end of the 5-byte message/,
    );
    expectInvalid(() => decodeInferMessage(Uint8Array.of(0, 0, 0, 0)), /must be a positive integer, got 0/);
  });
});

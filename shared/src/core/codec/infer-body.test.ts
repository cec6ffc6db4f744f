import { describe, expect, it } from 'vitest';
import { type Datatype, INFERENCE_HEADER_CONTENT_LENGTH, type Tensor } from '../oip.ts';
import { decodeInferBody, encodeInferBody, wantsBinaryOutput } from './infer-body.ts';
import { bytesFromStrings, findTensor, stringsFromBytes } from './tensor-access.ts';

const utf8 = new TextEncoder();

/** One 2×3 tensor per datatype, with values at the edges of each range. */
const SAMPLES: Tensor[] = [
  { name: 'b', datatype: 'BOOL', shape: [2, 3], data: Uint8Array.of(1, 0, 1, 1, 0, 0) },
  { name: 'u8', datatype: 'UINT8', shape: [2, 3], data: Uint8Array.of(0, 1, 2, 127, 128, 255) },
  { name: 'u16', datatype: 'UINT16', shape: [2, 3], data: Uint16Array.of(0, 1, 2, 300, 40000, 65535) },
  {
    name: 'u32',
    datatype: 'UINT32',
    shape: [2, 3],
    data: Uint32Array.of(0, 1, 2, 70000, 2 ** 31, 2 ** 32 - 1),
  },
  {
    name: 'u64',
    datatype: 'UINT64',
    shape: [2, 3],
    data: BigUint64Array.of(0n, 1n, 2n, 3n, 2n ** 53n, 2n ** 64n - 1n),
  },
  { name: 'i8', datatype: 'INT8', shape: [2, 3], data: Int8Array.of(-128, -1, 0, 1, 2, 127) },
  { name: 'i16', datatype: 'INT16', shape: [2, 3], data: Int16Array.of(-32768, -1, 0, 1, 2, 32767) },
  {
    name: 'i32',
    datatype: 'INT32',
    shape: [2, 3],
    data: Int32Array.of(-(2 ** 31), -1, 0, 1, 2, 2 ** 31 - 1),
  },
  {
    name: 'i64',
    datatype: 'INT64',
    shape: [2, 3],
    data: BigInt64Array.of(-(2n ** 63n), -1n, 0n, 1n, 2n, 2n ** 63n - 1n),
  },
  {
    name: 'f16',
    datatype: 'FP16',
    shape: [2, 3],
    data: Uint16Array.of(0x0000, 0x3c00, 0xbc00, 0x7bff, 0x7c00, 0x7e00),
  },
  {
    name: 'f32',
    datatype: 'FP32',
    shape: [2, 3],
    data: Float32Array.of(0, -1.5, 3.25, 1e30, -1e-30, Math.fround(0.1)),
  },
  {
    name: 'f64',
    datatype: 'FP64',
    shape: [2, 3],
    data: Float64Array.of(0, -1.5, Math.PI, 1e300, -5e-324, 0.1),
  },
  {
    name: 's',
    datatype: 'BYTES',
    shape: [2, 3],
    data: bytesFromStrings(['', 'a', 'héllo', '数字', 'x'.repeat(300), '\u0000']),
  },
];

function asArray(t: Tensor): unknown[] {
  return Array.from(t.data as ArrayLike<unknown>);
}

describe('encodeInferBody / decodeInferBody', () => {
  it.each(SAMPLES)('round-trips $datatype as binary data in a request', (tensor) => {
    const { body, headerLength } = encodeInferBody({ id: 'r1', parameters: { deadline_ms: 250 } }, [tensor]);
    const decoded = decodeInferBody(body, headerLength);
    expect(decoded.kind).toBe('request');
    expect(decoded.header.id).toBe('r1');
    expect(decoded.header.parameters).toEqual({ deadline_ms: 250 });
    const [out] = decoded.tensors;
    expect(out?.datatype).toBe(tensor.datatype);
    expect(out?.shape).toEqual([2, 3]);
    expect(out?.data.constructor).toBe(tensor.data.constructor);
    expect(asArray(out!)).toEqual(asArray(tensor));
  });

  it.each(SAMPLES.filter((t) => t.datatype !== 'FP16' && t.datatype !== 'UINT64' && t.datatype !== 'INT64'))(
    'round-trips $datatype as JSON data in a response',
    (tensor) => {
      const { body, headerLength } = encodeInferBody(
        { model_name: 'digits-mid', model_version: '1' },
        [tensor],
        {
          binary: false,
        },
      );
      // Nothing binary follows the header, so it has no alignment padding: the body is plain JSON.
      expect(headerLength).toBe(body.length);
      expect(body[body.length - 1]).toBe(0x7d);
      const decoded = decodeInferBody(body, headerLength);
      expect(decoded.kind).toBe('response');
      if (decoded.kind === 'response') expect(decoded.header.model_name).toBe('digits-mid');
      const expected = tensor.datatype === 'FP32' ? Array.from(tensor.data as Float32Array) : asArray(tensor);
      expect(asArray(decoded.tensors[0]!)).toEqual(expected);
    },
  );

  it('writes the layout Triton expects: JSON header then raw little-endian tensors in order', () => {
    const tensors: Tensor[] = [
      { name: 'a', datatype: 'FP32', shape: [2], data: Float32Array.of(1, 2) },
      { name: 'j', datatype: 'INT32', shape: [1], data: Int32Array.of(7) },
      { name: 'c', datatype: 'UINT16', shape: [1], data: Uint16Array.of(0x0102) },
    ];
    const { body, headerLength } = encodeInferBody({}, tensors, { binary: (t) => t.name !== 'j' });
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, headerLength)));
    expect(header.inputs).toEqual([
      { name: 'a', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } },
      { name: 'j', shape: [1], datatype: 'INT32', data: [7] },
      { name: 'c', shape: [1], datatype: 'UINT16', parameters: { binary_data_size: 2 } },
    ]);
    expect(Array.from(body.subarray(headerLength))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0x02, 0x01]);
    expect(INFERENCE_HEADER_CONTENT_LENGTH).toBe('Inference-Header-Content-Length');
  });

  it('decodes a plain JSON request with nested data, as curl users send it', () => {
    const json = utf8.encode(
      JSON.stringify({
        inputs: [
          {
            name: 'input-0',
            shape: [2, 4],
            datatype: 'FP32',
            data: [
              [6.8, 2.8, 4.8, 1.4],
              [6, 3.4, 4.5, 1.6],
            ],
          },
        ],
        outputs: [{ name: 'logits' }],
      }),
    );
    const decoded = decodeInferBody(json, json.length);
    const input = findTensor(decoded.tensors, 'input-0', 'FP32');
    expect(input.data).toBeInstanceOf(Float32Array);
    expect(Array.from(input.data)).toEqual(Array.from(Float32Array.of(6.8, 2.8, 4.8, 1.4, 6, 3.4, 4.5, 1.6)));
  });

  it('returns zero-copy views when aligned and copies when the offset is unaligned', () => {
    const tensor: Tensor = { name: 'x', datatype: 'FP64', shape: [3], data: Float64Array.of(1, 2, 3) };
    const { body, headerLength } = encodeInferBody({}, [tensor]);
    const aligned = findTensor(decodeInferBody(body, headerLength).tensors, 'x', 'FP64');
    expect(aligned.data.buffer).toBe(body.buffer);
    const shifted = new Uint8Array(body.length + 1).subarray(1);
    shifted.set(body);
    const unaligned = findTensor(decodeInferBody(shifted, headerLength).tensors, 'x', 'FP64');
    expect(unaligned.data.buffer).not.toBe(shifted.buffer);
    expect(Array.from(unaligned.data)).toEqual([1, 2, 3]);
  });

  it('copies unaligned tensors into shared slabs: aligned, apart, and never a buffer a worker could take', () => {
    const shiftedBody = (values: number[]) => {
      const tensor: Tensor = {
        name: 'x',
        datatype: 'FP32',
        shape: [values.length],
        data: Float32Array.from(values),
      };
      const { body, headerLength } = encodeInferBody({}, [tensor]);
      const shifted = new Uint8Array(body.length + 3).subarray(3);
      shifted.set(body);
      return findTensor(decodeInferBody(shifted, headerLength).tensors, 'x', 'FP32').data;
    };
    const small = Array.from({ length: 784 }, (_, i) => i / 7);
    const copies = Array.from({ length: 40 }, (_, k) => shiftedBody(small.map((v) => v + k)));
    copies.forEach((data, k) => {
      expect(data.byteOffset % 8).toBe(0);
      expect(data.byteLength).toBeLessThan(data.buffer.byteLength); // a slab, shared: never transferred
      expect(data[0]).toBe(Math.fround(k)); // later copies did not overwrite it
      expect(data[783]).toBe(Math.fround(783 / 7 + k));
    });
    // Past the slab's share, a tensor gets a buffer of its own.
    const big = shiftedBody(Array.from({ length: 8192 }, (_, i) => i));
    expect(big.byteOffset).toBe(0);
    expect(big.byteLength).toBe(big.buffer.byteLength);
    expect(big[8191]).toBe(8191);
    // So it does when the body is a Node Buffer (an HTTP body), whose slice() is a view, not a copy.
    const tensor: Tensor = {
      name: 'x',
      datatype: 'FP32',
      shape: [8192],
      data: new Float32Array(8192).fill(2),
    };
    const { body, headerLength } = encodeInferBody({}, [tensor]);
    const buffer = Buffer.alloc(body.length + 1).subarray(1);
    buffer.set(body);
    const fromBuffer = findTensor(decodeInferBody(buffer, headerLength).tensors, 'x', 'FP32').data;
    expect(fromBuffer.byteOffset % 4).toBe(0);
    expect(fromBuffer[8191]).toBe(2);
  });

  it('keeps tensor parameters and handles scalars and empty tensors', () => {
    const tensors: Tensor[] = [
      { name: 'scalar', datatype: 'INT32', shape: [], data: Int32Array.of(42), parameters: { unit: 'ms' } },
      { name: 'empty', datatype: 'FP32', shape: [0, 10], data: new Float32Array(0) },
      { name: 'none', datatype: 'BYTES', shape: [0], data: [] },
    ];
    const { body, headerLength } = encodeInferBody({ model_name: 'm' }, tensors);
    const [scalar, empty, none] = decodeInferBody(body, headerLength).tensors;
    expect(Array.from(scalar!.data as Int32Array)).toEqual([42]);
    expect(scalar!.parameters).toEqual({ unit: 'ms', binary_data_size: 4 });
    expect(empty!.shape).toEqual([0, 10]);
    expect(empty!.data.length).toBe(0);
    expect(none!.data).toEqual([]);
  });

  it('decodes OIP error bodies', () => {
    const json = utf8.encode('{"error":"model \\"x\\" not found"}');
    const decoded = decodeInferBody(json, json.length);
    expect(decoded).toEqual({ kind: 'error', header: { error: 'model "x" not found' }, tensors: [] });
  });

  it('refuses to encode tensors whose data does not match shape or datatype', () => {
    const bad: [Tensor, RegExp][] = [
      [
        { name: 'x', datatype: 'FP32', shape: [3], data: Float32Array.of(1, 2) },
        /input "x": data has 2 elements/,
      ],
      [
        { name: 'x', datatype: 'FP32', shape: [2], data: Float64Array.of(1, 2) } as unknown as Tensor,
        /Float32Array/,
      ],
      [{ name: 'x', datatype: 'FP32', shape: [-1], data: Float32Array.of(1) }, /shape\[0\] = -1/],
      [
        { name: 'x', datatype: 'FP32', shape: [1], data: Float32Array.of(Number.NaN) },
        /cannot be written as JSON/,
      ],
    ];
    for (const [tensor, message] of bad) {
      expect(() => encodeInferBody({}, [tensor], { binary: false })).toThrow(message);
    }
    const t: Tensor = { name: 'x', datatype: 'UINT8', shape: [1], data: Uint8Array.of(1) };
    expect(() => encodeInferBody({}, [t, t])).toThrow(/unique/);
  });

  it('chooses binary outputs as Triton does', () => {
    const base = { inputs: [] };
    expect(wantsBinaryOutput(base, 'logits')).toBe(false);
    expect(wantsBinaryOutput({ ...base, parameters: { binary_data_output: true } }, 'logits')).toBe(true);
    expect(
      wantsBinaryOutput(
        {
          ...base,
          parameters: { binary_data_output: true },
          outputs: [{ name: 'logits', parameters: { binary_data: false } }],
        },
        'logits',
      ),
    ).toBe(false);
    expect(
      wantsBinaryOutput(
        { ...base, outputs: [{ name: 'logits', parameters: { binary_data: true } }] },
        'logits',
      ),
    ).toBe(true);
  });

  it('converts BYTES to and from strings', () => {
    expect(stringsFromBytes(bytesFromStrings(['a', 'é', '']))).toEqual(['a', 'é', '']);
  });

  it('names the missing or mistyped tensor', () => {
    const tensors: Tensor[] = [{ name: 'image', datatype: 'FP32', shape: [1], data: Float32Array.of(0) }];
    expect(() => findTensor(tensors, 'img', 'FP32')).toThrow('tensor "img" is missing (got "image")');
    expect(() => findTensor(tensors, 'image', 'INT8' as Datatype)).toThrow(
      'has datatype FP32, expected INT8',
    );
  });
});

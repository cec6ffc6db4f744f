import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FoglineError } from '../errors.ts';
import { DATATYPES, type Datatype, type Tensor } from '../oip.ts';
import { decodeInferBody, encodeInferBody } from './infer-body.ts';
import { decodeInferMessage, encodeInferMessage } from './infer-message.ts';

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });

function dataArb(datatype: Datatype, n: number, jsonSafe: boolean): fc.Arbitrary<Tensor['data']> {
  const len = { minLength: n, maxLength: n };
  const float = { noNaN: jsonSafe, noDefaultInfinity: jsonSafe };
  switch (datatype) {
    case 'BOOL':
      return fc.array(fc.boolean(), len).map((b) => Uint8Array.from(b, Number));
    case 'UINT8':
      return fc.uint8Array(len);
    case 'UINT16':
    case 'FP16':
      return fc.uint16Array(len);
    case 'UINT32':
      return fc.uint32Array(len);
    case 'UINT64':
      return fc.bigUint64Array(len);
    case 'INT8':
      return fc.int8Array(len);
    case 'INT16':
      return fc.int16Array(len);
    case 'INT32':
      return fc.int32Array(len);
    case 'INT64':
      return fc.bigInt64Array(len);
    // JSON has no -0: compare JSON round trips without it.
    case 'FP32':
      return fc.float32Array({ ...len, ...float }).map((a) => (jsonSafe ? a.map((v) => v + 0) : a));
    case 'FP64':
      return fc.float64Array({ ...len, ...float }).map((a) => (jsonSafe ? a.map((v) => v + 0) : a));
    case 'BYTES':
      return jsonSafe
        ? fc.array(fc.string({ maxLength: 12 }), len).map((s) => s.map((v) => new TextEncoder().encode(v)))
        : fc.array(fc.uint8Array({ maxLength: 12 }), len);
  }
}

function tensorArb(datatypes: readonly Datatype[], jsonSafe: boolean, name: string): fc.Arbitrary<Tensor> {
  return fc.tuple(fc.constantFrom(...datatypes), shapeArb).chain(([datatype, shape]) =>
    dataArb(
      datatype,
      shape.reduce((a, b) => a * b, 1),
      jsonSafe,
    ).map((data) => ({ name, datatype, shape, data }) as Tensor),
  );
}

const tensorsArb = (datatypes: readonly Datatype[], jsonSafe: boolean) =>
  fc
    .integer({ min: 0, max: 4 })
    .chain((k) => fc.tuple(...Array.from({ length: k }, (_, i) => tensorArb(datatypes, jsonSafe, `t${i}`))));

/** Raw little-endian bytes of any tensor, to compare round trips bit for bit (NaN payloads, -0). */
function bytesOf(t: Tensor): number[] {
  if (t.datatype === 'BYTES') return t.data.flatMap((e) => [e.length, ...e]);
  return Array.from(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function expectOnlyFoglineErrors(run: () => unknown): void {
  try {
    run();
  } catch (err) {
    if (!(err instanceof FoglineError)) throw err;
    expect(err.code).toBe('INVALID_ARG');
  }
}

describe('codec properties', () => {
  it('any tensors round-trip bit for bit through binary bodies and messages', () => {
    fc.assert(
      fc.property(tensorsArb(DATATYPES, false), fc.boolean(), (tensors, asMessage) => {
        const decoded = asMessage
          ? decodeInferMessage(encodeInferMessage({ model_name: 'm' }, tensors))
          : (({ body, headerLength }) => decodeInferBody(body, headerLength))(
              encodeInferBody({ id: 'x' }, tensors),
            );
        expect(decoded.tensors.map((t) => [t.name, t.datatype, t.shape, bytesOf(t)])).toEqual(
          tensors.map((t) => [t.name, t.datatype, t.shape, bytesOf(t)]),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('JSON-representable tensors round-trip through JSON, binary and mixed bodies', () => {
    const jsonTypes = DATATYPES.filter((d) => d !== 'FP16' && d !== 'UINT64' && d !== 'INT64');
    fc.assert(
      fc.property(tensorsArb(jsonTypes, true), fc.func(fc.boolean()), (tensors, pick) => {
        const { body, headerLength } = encodeInferBody({}, tensors, { binary: (t) => pick(t.name) });
        const decoded = decodeInferBody(body, headerLength);
        expect(decoded.tensors.map(bytesOf)).toEqual(tensors.map(bytesOf));
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes never throw anything but INVALID_ARG', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.integer({ min: -2, max: 300 }),
        (bytes, headerLength) => {
          expectOnlyFoglineErrors(() => decodeInferMessage(bytes));
          expectOnlyFoglineErrors(() => decodeInferBody(bytes, headerLength));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('corrupted valid messages never throw anything but INVALID_ARG', () => {
    const corruption = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(tensorsArb(DATATYPES, false), corruption, fc.nat(), (tensors, flips, cut) => {
        const message = encodeInferMessage({ id: 'x' }, tensors);
        const bad = message.slice(0, message.length - (cut % (message.length + 1)));
        for (const [at, value] of flips) if (bad.length > 0) bad[at % bad.length] = value;
        expectOnlyFoglineErrors(() => decodeInferMessage(bad));
      }),
      { numRuns: 1000 },
    );
  });

  it('corrupted tensor bytes (BYTES prefixes, BOOL values) never throw anything but INVALID_ARG', () => {
    // Small values shrink BYTES length prefixes, so parsing lands mid-element and runs off the end.
    const value = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }));
    const flips = fc.array(fc.tuple(fc.nat(), value), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(tensorsArb(['BYTES', 'BYTES', 'BOOL'], false), flips, (tensors, changes) => {
        const message = encodeInferMessage({ id: 'x' }, tensors);
        const dataStart = 4 + new DataView(message.buffer).getUint32(0, true);
        if (dataStart === message.length) return;
        for (const [at, value] of changes) message[dataStart + (at % (message.length - dataStart))] = value;
        expectOnlyFoglineErrors(() => decodeInferMessage(message));
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary JSON headers never throw anything but INVALID_ARG', () => {
    const entry = fc.record(
      {
        name: fc.oneof(fc.string({ maxLength: 3 }), fc.jsonValue()),
        shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 1e10 }), { maxLength: 10 }), fc.jsonValue()),
        datatype: fc.oneof(fc.constantFrom(...DATATYPES, 'FLOAT'), fc.jsonValue()),
        data: fc.jsonValue(),
        parameters: fc.oneof(
          fc.record({ binary_data_size: fc.integer({ min: -1, max: 64 }) }),
          fc.jsonValue(),
        ),
      },
      { requiredKeys: [] },
    );
    const header = fc.oneof(
      fc.record(
        { inputs: fc.array(entry, { maxLength: 3 }), outputs: fc.jsonValue() },
        { requiredKeys: ['inputs'] },
      ),
      fc.record({ model_name: fc.jsonValue(), outputs: fc.array(entry, { maxLength: 3 }) }),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (h, tail) => {
        const json = new TextEncoder().encode(JSON.stringify(h) ?? 'null');
        const bytes = new Uint8Array(json.length + tail.length);
        bytes.set(json);
        bytes.set(tail, json.length);
        expectOnlyFoglineErrors(() => decodeInferBody(bytes, json.length));
      }),
      { numRuns: 2000 },
    );
  });
});

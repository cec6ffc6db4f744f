import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeErrorMessage, encodeInferMessage } from '../codec/index.ts';
import { ERROR_CODES, FoglineError } from '../errors.ts';
import type { Tensor } from '../oip.ts';
import {
  type AnswerReply,
  encodeAnswer,
  encodeAnswerGeneric,
  logitsOutput,
  readFabricReply,
} from './reply.ts';

const logits = Float32Array.from({ length: 10 }, (_, i) => i);
const response = (parameters: Record<string, string | number | boolean>, tensorName = 'logits') =>
  encodeInferMessage({ model_name: 'digits-mid', id: 'r1', parameters }, [
    { name: tensorName, datatype: 'FP32', shape: [1, 10], data: logits },
  ]);

describe('readFabricReply', () => {
  it('reads an edge reply with its tier, score, latencies and versions', () => {
    const reply = readFabricReply(
      response({
        tier: 'cloud',
        degraded: false,
        score: 0.97,
        edge_ms: 3,
        cloud_ms: 12,
        model_versions: 'digits-large:1',
      }),
    );
    expect(reply).toMatchObject({
      ok: true,
      id: 'r1',
      tier: 'cloud',
      score: 0.97,
      edgeMs: 3,
      cloudMs: 12,
      modelVersions: 'digits-large:1',
    });
    expect(reply?.ok && Array.from(reply.logits)).toEqual(Array.from(logits));
  });

  it("reads a model's first output under any name, with the output kind it declares", () => {
    const reply = readFabricReply(
      response({ tier: 'edge', degraded: false, score: 0.9, output_kind: 'probabilities' }, 'probs'),
    );
    expect(reply).toMatchObject({ ok: true, outputKind: 'probabilities' });
    expect(reply?.ok && Array.from(reply.logits)).toEqual(Array.from(logits));
    const legacy = readFabricReply(response({ tier: 'edge', degraded: false, score: 0.9 }));
    expect(legacy).toMatchObject({ ok: true, outputKind: 'logits' });
  });

  it('turns an error reply into its catalogue code', () => {
    const reply = readFabricReply(encodeErrorMessage(new FoglineError('RATE_LIMITED', 'slow down'), 'r9'));
    expect(reply).toEqual({ ok: false, id: 'r9', code: 'RATE_LIMITED', message: 'slow down' });
  });

  it('reports a malformed reply against its id, and ignores bytes without one', () => {
    expect(readFabricReply(response({ tier: 'fog', degraded: false, score: 1 }))).toMatchObject({
      ok: false,
      id: 'r1',
      code: 'INVALID_ARG',
    });
    const noOutput = encodeInferMessage(
      { model_name: 'm', id: 'r1', parameters: { tier: 'edge', degraded: false, score: 1 } },
      [],
    );
    expect(readFabricReply(noOutput)).toMatchObject({ ok: false, id: 'r1' });
    const halfScores = encodeInferMessage({ model_name: 'm', id: 'r1', parameters: { tier: 'edge' } }, [
      { name: 'probs', datatype: 'FP16', shape: [1, 2], data: Uint16Array.of(0x3800, 0x3800) },
    ]);
    expect(readFabricReply(halfScores)).toMatchObject({ ok: false, id: 'r1' });
    expect(readFabricReply(new Uint8Array([1, 2, 3]))).toBeUndefined();
    expect(readFabricReply(new TextEncoder().encode('not a frame at all'))).toBeUndefined();
  });
});

describe('encodeAnswer', () => {
  it('is read back by the device: tier, score, degraded flag, latencies rounded to µs, versions, logits', () => {
    const payload = encodeAnswer({
      id: 'r2',
      modelName: 'digits-mid-int8',
      modelVersion: '1',
      outputs: [logitsOutput('logits', logits)],
      parameters: {
        tier: 'edge',
        degraded: true,
        score: 0.5,
        edge_ms: 1.23456,
        model_versions: 'digits-mid-int8:1',
      },
    });
    const reply = readFabricReply(payload);
    expect(reply).toMatchObject({
      ok: true,
      id: 'r2',
      tier: 'edge',
      degraded: true,
      score: 0.5,
      edgeMs: 1.235,
      modelVersions: 'digits-mid-int8:1',
    });
    expect(reply).not.toHaveProperty('cloudMs');
    expect(reply?.ok && Array.from(reply.logits)).toEqual(Array.from(logits));
  });
});

describe('fallback of a degraded answer', () => {
  it('carries the code and message of the tier that could not be used, read back by the device', () => {
    const payload = encodeAnswer({
      id: 'r3',
      modelName: 'm',
      modelVersion: '1',
      outputs: [logitsOutput('logits', logits)],
      parameters: {
        tier: 'edge',
        degraded: true,
        score: 0.4,
        model_versions: 'm:1',
        output_kind: 'probabilities',
        fallback_code: 'INVALID_ARG',
        fallback_message: 'cloud model does not fit',
      },
    });
    expect(readFabricReply(payload)).toMatchObject({
      ok: true,
      degraded: true,
      outputKind: 'probabilities',
      fallbackCode: 'INVALID_ARG',
      fallbackMessage: 'cloud model does not fit',
    });
  });
});

describe('encodeAnswer', () => {
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, -0, 0.1, 1e21, 5e-7));
  const output = fc
    .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 12 }))
    .map(
      ([name, k]): Tensor => ({ name, datatype: 'FP32', shape: [1, k], data: new Float32Array(k).fill(0.5) }),
    );
  const reply: fc.Arbitrary<AnswerReply> = fc.record({
    id: optional(fc.string({ maxLength: 20 })),
    modelName: fc.string({ maxLength: 20 }),
    modelVersion: fc.string({ maxLength: 4 }),
    outputs: fc.uniqueArray(output, { maxLength: 3, selector: (t) => t.name }),
    parameters: fc.record(
      {
        tier: fc.constantFrom('device' as const, 'edge' as const, 'cloud' as const),
        degraded: fc.boolean(),
        score: number,
        model_versions: fc.string({ maxLength: 30 }),
        output_kind: optional(fc.constantFrom('logits' as const, 'probabilities' as const)),
        fallback_code: optional(fc.constantFrom(...ERROR_CODES)),
        fallback_message: optional(fc.string({ maxLength: 30 })),
        edge_ms: optional(number),
        cloud_ms: optional(number),
      },
      { requiredKeys: ['tier', 'degraded', 'score', 'model_versions'] },
    ),
  });

  it('writes the same bytes as the codec writes for the header object (ids, messages, numbers of any kind)', () => {
    fc.assert(
      fc.property(reply, (r) => {
        expect(Buffer.from(encodeAnswer(r))).toEqual(Buffer.from(encodeAnswerGeneric(r)));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses what the codec refuses: outputs of one name, data that does not fill the shape', () => {
    const base = { id: 'r', modelName: 'm', modelVersion: '1' };
    const parameters = { tier: 'edge' as const, degraded: false, score: 1, model_versions: 'm:1' };
    const twice = { ...base, parameters, outputs: [logitsOutput('a', logits), logitsOutput('a', logits)] };
    expect(() => encodeAnswer(twice)).toThrow(/names must be non-empty and unique/);
    const short: Tensor = { name: 'a', datatype: 'FP32', shape: [1, 11], data: logits };
    expect(() => encodeAnswer({ ...base, parameters, outputs: [short] })).toThrow(/needs 11/);
  });
});

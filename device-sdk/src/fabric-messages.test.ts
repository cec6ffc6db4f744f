import { decodeInferMessage, encodeErrorMessage, encodeInferMessage } from '@fogline/shared/codec';
import { FoglineError } from '@fogline/shared/errors';
import { describe, expect, it } from 'vitest';
import { encodeRequest, readReply } from './fabric-messages.ts';

const logits = Float32Array.from({ length: 10 }, (_, i) => i);
const response = (parameters: Record<string, string | number | boolean>, tensorName = 'logits') =>
  encodeInferMessage({ model_name: 'digits-mid', id: 'r1', parameters }, [
    { name: tensorName, datatype: 'FP32', shape: [1, 10], data: logits },
  ]);

describe('device request and reply messages', () => {
  it('encodes a request the edge can decode: id, reply topic, budget, image', () => {
    const input = new Float32Array(784).fill(0.5);
    const decoded = decodeInferMessage(
      encodeRequest({
        id: 'r1',
        replyTo: 'fogline/v1/device/d/reply',
        deadlineMs: 99.7,
        deviceScore: 0.4,
        input,
        inputShape: [1, 1, 28, 28],
      }),
    );
    expect(decoded.kind).toBe('request');
    expect(decoded.header).toMatchObject({
      id: 'r1',
      parameters: { reply_to: 'fogline/v1/device/d/reply', deadline_ms: 99, device_score: 0.4 },
    });
    expect(decoded.tensors[0]).toMatchObject({ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28] });
  });

  it('reads an edge reply with its tier, score, latencies and versions', () => {
    const reply = readReply(
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

  it('turns an error reply into its catalogue code', () => {
    const reply = readReply(encodeErrorMessage(new FoglineError('RATE_LIMITED', 'slow down'), 'r9'));
    expect(reply).toEqual({ ok: false, id: 'r9', code: 'RATE_LIMITED', message: 'slow down' });
  });

  it('reports a malformed reply against its id, and ignores bytes without one', () => {
    expect(readReply(response({ tier: 'fog', degraded: false, score: 1 }))).toMatchObject({
      ok: false,
      id: 'r1',
      code: 'INVALID_ARG',
    });
    expect(readReply(response({ tier: 'edge', degraded: false, score: 1 }, 'probs'))).toMatchObject({
      ok: false,
      id: 'r1',
    });
    expect(readReply(new Uint8Array([1, 2, 3]))).toBeUndefined();
    expect(readReply(new TextEncoder().encode('not a frame at all'))).toBeUndefined();
  });
});

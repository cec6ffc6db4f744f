import { describe, expect, it } from 'vitest';
import { decodeInferMessage, encodeInferMessage } from '../codec/index.ts';
import { encodeFabricRequest, RequestRejection, readFabricRequest } from './request.ts';

const limits = { defaultDeadlineMs: 1000, maxDeadlineMs: 5000 };
const image = {
  name: 'image',
  datatype: 'FP32' as const,
  shape: [1, 1, 28, 28],
  data: new Float32Array(784),
};

function rejectionOf(payload: Uint8Array): RequestRejection {
  try {
    readFabricRequest(payload, limits);
  } catch (err) {
    if (err instanceof RequestRejection) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('readFabricRequest', () => {
  it('reads the reply topic, device, correlation id and budget (clamped to the maximum)', () => {
    const payload = encodeInferMessage(
      { id: 'r1', parameters: { reply_to: 'fogline/v1/device/dev-1/reply', deadline_ms: 99_999 } },
      [image],
    );
    const req = readFabricRequest(payload, limits);
    expect(req).toMatchObject({
      id: 'r1',
      replyTo: 'fogline/v1/device/dev-1/reply',
      deviceId: 'dev-1',
      deadlineMs: 5000,
    });
    expect(req.tensors[0]?.shape).toEqual([1, 1, 28, 28]);
  });

  it('uses the default budget when deadline_ms is absent', () => {
    const payload = encodeInferMessage({ parameters: { reply_to: 'fogline/v1/device/d/reply' } }, [image]);
    expect(readFabricRequest(payload, limits).deadlineMs).toBe(1000);
  });

  it('keeps the reply topic and id of a request whose tensors are broken, so the device gets an error', () => {
    const good = encodeInferMessage({ id: 'r2', parameters: { reply_to: 'fogline/v1/device/dev-1/reply' } }, [
      image,
    ]);
    const rejection = rejectionOf(good.subarray(0, good.length - 10));
    expect(rejection).toMatchObject({ replyTo: 'fogline/v1/device/dev-1/reply', id: 'r2' });
    expect(rejection.error.code).toBe('INVALID_ARG');
  });

  it('has no reply topic for garbage, or for a reply_to that is not a device reply topic', () => {
    expect(rejectionOf(new Uint8Array([1, 2, 3])).replyTo).toBeUndefined();
    const wild = encodeInferMessage({ id: 'r3', parameters: { reply_to: 'fogline/v1/device/+/reply' } }, [
      image,
    ]);
    expect(rejectionOf(wild)).toMatchObject({ replyTo: undefined, id: 'r3' });
    const other = encodeInferMessage({ parameters: { reply_to: 'fogline/v1/edge/e1/status' } }, [image]);
    expect(rejectionOf(other).replyTo).toBeUndefined();
  });

  it("reads the device input's quantization, and refuses one that cannot be, keeping the reply topic", () => {
    const withScale = (parameters: Record<string, number>) =>
      encodeInferMessage({ id: 'q1', parameters: { reply_to: 'fogline/v1/device/d/reply', ...parameters } }, [
        image,
      ]);
    expect(readFabricRequest(withScale({ input_scale: 0.5, input_zero_point: 3 }), limits)).toMatchObject({
      inputQuantization: { scale: 0.5, zero_point: 3 },
    });
    expect(readFabricRequest(withScale({ input_scale: 0.5 }), limits).inputQuantization).toEqual({
      scale: 0.5,
      zero_point: 0,
    });
    expect(readFabricRequest(withScale({}), limits)).not.toHaveProperty('inputQuantization');
    const bad: Record<string, number>[] = [
      { input_scale: 0 },
      { input_zero_point: 1 },
      { input_scale: 1, input_zero_point: 0.5 },
    ];
    for (const parameters of bad) {
      const rejection = rejectionOf(withScale(parameters));
      expect(rejection).toMatchObject({ replyTo: 'fogline/v1/device/d/reply', id: 'q1' });
      expect(rejection.error.message).toMatch(/parameters\.input_(scale|zero_point)/);
    }
  });

  it('carries the W3C traceparent a device sends, and refuses one that is not valid, keeping the address', () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const fields = {
      id: 't1',
      replyTo: 'fogline/v1/device/d/reply',
      deadlineMs: 500,
      deviceScore: 0.5,
      input: image,
    };
    const read = readFabricRequest(encodeFabricRequest({ ...fields, traceparent }), limits);
    expect(read.traceparent).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentId: '00f067aa0ba902b7',
      flags: '01',
    });
    expect(readFabricRequest(encodeFabricRequest(fields), limits).traceparent).toBeUndefined();
    const rejection = rejectionOf(encodeFabricRequest({ ...fields, traceparent: 'not-a-trace' }));
    expect(rejection.error.code).toBe('INVALID_ARG');
    expect(rejection.error.message).toContain('traceparent');
    expect(rejection).toMatchObject({ replyTo: fields.replyTo, id: 't1' });
  });

  it('answers a request that arrives with no budget left with DEADLINE_EXCEEDED', () => {
    const payload = encodeInferMessage(
      { id: 'r4', parameters: { reply_to: 'fogline/v1/device/d/reply', deadline_ms: 0 } },
      [image],
    );
    expect(rejectionOf(payload).error.code).toBe('DEADLINE_EXCEEDED');
  });
});

describe('encodeFabricRequest', () => {
  it('encodes a request the edge can decode: id, reply topic, budget, image', () => {
    const input = new Float32Array(784).fill(0.5);
    const decoded = decodeInferMessage(
      encodeFabricRequest({
        id: 'r1',
        replyTo: 'fogline/v1/device/d/reply',
        deadlineMs: 99.7,
        deviceScore: 0.4,
        input: { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: input },
      }),
    );
    expect(decoded.kind).toBe('request');
    expect(decoded.header).toMatchObject({
      id: 'r1',
      parameters: { reply_to: 'fogline/v1/device/d/reply', deadline_ms: 99, device_score: 0.4 },
    });
    expect(decoded.tensors[0]).toMatchObject({ name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28] });
  });

  it('is read back by the edge as the same request of the same device', () => {
    const payload = encodeFabricRequest({
      id: 'r5',
      replyTo: 'fogline/v1/device/dev-7/reply',
      deadlineMs: 250,
      deviceScore: 0.2,
      input: { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: new Float32Array(784) },
    });
    expect(readFabricRequest(payload, limits)).toMatchObject({
      id: 'r5',
      replyTo: 'fogline/v1/device/dev-7/reply',
      deviceId: 'dev-7',
      deadlineMs: 250,
    });
  });
});

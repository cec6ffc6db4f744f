import { describe, expect, it } from 'vitest';
import { deviceErrorReply } from './error-reply.ts';
import { readFabricReply } from './reply.ts';
import { encodeFabricRequest } from './request.ts';
import { topics } from './topics.ts';

const request = encodeFabricRequest({
  id: 'r7',
  replyTo: topics.reply('dev-1'),
  deadlineMs: 100,
  deviceScore: 0.3,
  input: { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: new Float32Array(784) },
});

describe('deviceErrorReply', () => {
  it("answers a dropped request on its device's reply topic, correlated by the request id", () => {
    const reply = deviceErrorReply('dev-1', request, 'RATE_LIMITED', 'slow down', { retryAfterMs: 40 });
    expect(reply?.topic).toBe(topics.reply('dev-1'));
    expect(readFabricReply(reply!.payload)).toEqual({
      ok: false,
      id: 'r7',
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryAfterMs: 40,
    });
  });

  it('has nothing to send for bytes that are not a request with an id', () => {
    expect(deviceErrorReply('dev-1', new Uint8Array([1, 2, 3]), 'PERMISSION_DENIED', 'no')).toBeUndefined();
  });
});

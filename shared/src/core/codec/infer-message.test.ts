import { describe, expect, it } from 'vitest';
import { FoglineError } from '../errors.ts';
import type { Tensor } from '../oip.ts';
import { encodeInferBody } from './infer-body.ts';
import {
  decodeInferMessage,
  encodeErrorMessage,
  encodeInferMessage,
  errorFromReply,
} from './infer-message.ts';
import { findTensor } from './tensor-access.ts';

const image: Tensor = {
  name: 'image',
  datatype: 'FP32',
  shape: [1, 1, 28, 28],
  data: new Float32Array(784).fill(0.5),
};

describe('MQTT inference messages', () => {
  it('are the OIP binary body with a u32le header length in front', () => {
    const header = { id: 'c-1', parameters: { reply_to: 'fogline/v1/device/d1/reply', deadline_ms: 120 } };
    const message = encodeInferMessage(header, [image]);
    const { body, headerLength } = encodeInferBody(header, [image]);
    const view = new DataView(message.buffer, message.byteOffset);
    expect(view.getUint32(0, true)).toBe(message.length - 4 - 784 * 4);
    // Same JSON up to the alignment padding, same tensor bytes.
    const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));
    expect(json(message.subarray(4, 4 + view.getUint32(0, true)))).toEqual(
      json(body.subarray(0, headerLength)),
    );
    expect(message.subarray(message.length - 784 * 4)).toEqual(body.subarray(headerLength));
  });

  it('round-trip a request and a response, tensor data 8-byte aligned for zero-copy', () => {
    const request = decodeInferMessage(
      encodeInferMessage({ id: 'c-1', parameters: { deadline_ms: 120 } }, [image]),
    );
    expect(request.kind).toBe('request');
    expect(request.header.parameters).toEqual({ deadline_ms: 120 });
    const decodedImage = findTensor(request.tensors, 'image', 'FP32');
    expect(decodedImage.data.byteOffset % 8).toBe(0);
    expect(Array.from(decodedImage.data)).toEqual(Array.from(image.data as Float32Array));

    const logits: Tensor = {
      name: 'logits',
      datatype: 'FP32',
      shape: [1, 10],
      data: Float32Array.from({ length: 10 }, (_, i) => i),
    };
    const reply = decodeInferMessage(
      encodeInferMessage(
        {
          model_name: 'digits-mid',
          model_version: '3',
          id: 'c-1',
          parameters: { tier: 'edge', score: 0.93, degraded: false },
        },
        [logits],
      ),
    );
    expect(reply.kind).toBe('response');
    if (reply.kind !== 'response') return;
    expect(reply.header).toMatchObject({ model_name: 'digits-mid', model_version: '3', id: 'c-1' });
    expect(reply.header.parameters).toEqual({ tier: 'edge', score: 0.93, degraded: false });
    expect(Array.from(reply.tensors[0]!.data as Float32Array)).toEqual(
      Array.from(logits.data as Float32Array),
    );
  });

  it('carry errors as a decodable reply that maps back to the same code', () => {
    const cause = new Error('queue full');
    const message = encodeErrorMessage(
      new FoglineError('RESOURCE_EXHAUSTED', 'batcher queue is full', { cause }),
      'c-9',
    );
    const decoded = decodeInferMessage(message);
    expect(decoded).toEqual({
      kind: 'error',
      header: { id: 'c-9', error: 'batcher queue is full', parameters: { error_code: 'RESOURCE_EXHAUSTED' } },
      tensors: [],
    });
    if (decoded.kind !== 'error') return;
    const err = errorFromReply(decoded.header);
    expect(err.code).toBe('RESOURCE_EXHAUSTED');
    expect(err.message).toBe('batcher queue is full');
    expect(errorFromReply({ error: 'x', parameters: { error_code: 'BOGUS' } }).code).toBe('INTERNAL');
    const wrapped = decodeInferMessage(encodeErrorMessage(new TypeError('bug')));
    expect(wrapped.header).toEqual({ error: 'bug', parameters: { error_code: 'INTERNAL' } });
  });
});

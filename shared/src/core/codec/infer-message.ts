/**
 * fogline MQTT payload for inference requests and replies: `u32le headerLength | JSON header | raw
 * little-endian tensors`, i.e. an OIP binary body with its header length in front (MQTT 3.1.1 has no
 * user properties to carry `Inference-Header-Content-Length`).
 */
import { FoglineError, fromUnknown, isErrorCode } from '../errors.ts';
import type {
  InferErrorResponse,
  InferRequestHeader,
  InferResponseHeader,
  Parameters,
  Tensor,
} from '../oip.ts';
import {
  type DecodedInfer,
  decodeInferBody,
  type EncodeOptions,
  encodeFrame,
  frameHeader,
} from './infer-body.ts';
import type { CodecLimits } from './limits.ts';

const PREFIX = 4;
const utf8 = new TextEncoder();

/** The framed payload; it may share its ArrayBuffer (see encodeFrame): mind byteOffset. */
export function encodeInferMessage(
  header: InferRequestHeader | InferResponseHeader,
  tensors: readonly Tensor[],
  options?: EncodeOptions,
): Uint8Array {
  const { frame, headerLength } = encodeFrame(header, tensors, options, PREFIX);
  new DataView(frame.buffer, frame.byteOffset, PREFIX).setUint32(0, headerLength, true);
  return frame;
}

/**
 * The framed payload of a header its caller wrote as JSON itself, whose `tensors` all travel as binary
 * (`binaryLength` bytes in all), in order: the same bytes as encodeInferMessage for the header that
 * JSON stands for, with each tensor described as binary. The caller checks its tensors.
 */
export function frameInferMessage(
  json: string,
  tensors: readonly Tensor[],
  binaryLength: number,
): Uint8Array {
  const { frame, headerLength } = frameHeader(PREFIX, json, tensors, binaryLength);
  new DataView(frame.buffer, frame.byteOffset, PREFIX).setUint32(0, headerLength, true);
  return frame;
}

export function decodeInferMessage(payload: Uint8Array, limits?: Partial<CodecLimits>): DecodedInfer {
  if (payload.length < PREFIX) {
    throw new FoglineError(
      'INVALID_ARG',
      `inference message is ${payload.length} bytes, shorter than its 4-byte header length`,
    );
  }
  const headerLength = new DataView(payload.buffer, payload.byteOffset, PREFIX).getUint32(0, true);
  if (headerLength > payload.length - PREFIX) {
    throw new FoglineError(
      'INVALID_ARG',
      `inference message header length ${headerLength} runs past the end of the ${payload.length}-byte message`,
    );
  }
  return decodeInferBody(payload.subarray(PREFIX), headerLength, limits);
}

/**
 * The MQTT error reply (docs/errors.md): a framed header `{"id", "error", "parameters": {"error_code"}}`
 * with no tensors, so a device always gets an answer it can decode with decodeInferMessage.
 */
export function encodeErrorMessage(err: unknown, id?: string): Uint8Array {
  const error = fromUnknown(err);
  const parameters: Parameters = { error_code: error.code };
  const retryAfterMs = error.details?.retryAfterMs;
  // A RATE_LIMITED reply says when to try again (the device waits, within its deadline, and re-sends).
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    parameters.retry_after_ms = retryAfterMs;
  }
  const header: InferErrorResponse = { error: error.message, parameters };
  if (id !== undefined) header.id = id;
  const json = utf8.encode(JSON.stringify(header));
  const frame = new Uint8Array(PREFIX + json.length);
  new DataView(frame.buffer).setUint32(0, json.length, true);
  frame.set(json, PREFIX);
  return frame;
}

/** Turns a decoded error reply back into the FoglineError it reports (unknown codes become INTERNAL). */
export function errorFromReply(header: InferErrorResponse): FoglineError {
  const code = header.parameters?.error_code;
  const retryAfterMs = header.parameters?.retry_after_ms;
  return new FoglineError(isErrorCode(code) ? code : 'INTERNAL', header.error, {
    details: {
      ...(header.id !== undefined && { id: header.id }),
      ...(typeof retryAfterMs === 'number' &&
        Number.isFinite(retryAfterMs) &&
        retryAfterMs >= 0 && { retryAfterMs }),
    },
  });
}

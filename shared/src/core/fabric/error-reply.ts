/**
 * Error replies on a device's reply topic (docs/errors.md, MQTT column): the shared error frame
 * `{"id", "error", "parameters": {"error_code"}}`, correlated by the request id. Sent by whoever
 * serves the request (server.ts) and by the broker when it drops a device's request (rate limited,
 * topic refused), so the device is never left waiting for its deadline (docs/design.md "Resilience").
 */
import { decodeInferMessage, encodeErrorMessage } from '../codec/index.ts';
import { type ErrorCode, FoglineError } from '../errors.ts';
import { topics } from './topics.ts';

export function encodeErrorReply(err: unknown, id: string | undefined): Uint8Array {
  return encodeErrorMessage(err, id);
}

/** The correlation id of a framed inference request, or undefined if the payload is not one. */
function requestIdOf(payload: Uint8Array): string | undefined {
  try {
    const decoded = decodeInferMessage(payload);
    return decoded.kind === 'request' ? decoded.header.id : undefined;
  } catch {
    return undefined;
  }
}

export interface DeviceErrorReply {
  readonly topic: string;
  readonly payload: Uint8Array;
}

/**
 * The error reply to `request`, a device's request that was dropped before anyone served it;
 * undefined when the request carries no id to correlate with (the device could not use it).
 */
export function deviceErrorReply(
  deviceId: string,
  request: Uint8Array,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): DeviceErrorReply | undefined {
  const id = requestIdOf(request);
  if (id === undefined) return undefined;
  const error = new FoglineError(code, message, details ? { details } : undefined);
  return { topic: topics.reply(deviceId), payload: encodeErrorMessage(error, id) };
}

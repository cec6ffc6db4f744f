/**
 * When the broker drops an inference request of a device (rate limited, topic refused), it answers on
 * the device's reply topic with the MQTT error reply of docs/errors.md, correlated by the request id,
 * so the device is never left waiting for its deadline (DESIGN.md "Resilience").
 */
import type { Aedes } from 'aedes';
import { decodeInferMessage, encodeErrorMessage } from '../codec.ts';
import { type ErrorCode, FoglineError } from '../errors.ts';
import { topics } from '../topics.ts';

/** The correlation id of a framed inference request, or undefined if the payload is not one. */
export function requestIdOf(payload: Uint8Array): string | undefined {
  try {
    const decoded = decodeInferMessage(payload);
    return decoded.kind === 'request' ? decoded.header.id : undefined;
  } catch {
    return undefined;
  }
}

/** Publishes the error reply; false when the payload carries no request id to correlate with. */
export function sendDeviceErrorReply(
  aedes: Aedes,
  deviceId: string,
  payload: Uint8Array,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): boolean {
  const id = requestIdOf(payload);
  if (id === undefined) return false;
  const error = new FoglineError(code, message, details ? { details } : undefined);
  aedes.publish(
    {
      cmd: 'publish',
      topic: topics.reply(deviceId),
      payload: Buffer.from(encodeErrorMessage(error, id)),
      qos: 1,
      retain: false,
      dup: false,
    },
    () => {},
  );
  return true;
}

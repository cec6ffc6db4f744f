/**
 * When the broker drops an inference request of a device (rate limited, topic refused), it answers on
 * the device's reply topic with the error reply of core/fabric/error-reply.ts, so the device is never
 * left waiting for its deadline (docs/design.md "Resilience").
 */
import type { Aedes } from 'aedes';
import type { ErrorCode } from '../core/errors.ts';
import { deviceErrorReply } from '../core/fabric/error-reply.ts';

/** Publishes the error reply; false when the payload carries no request id to correlate with. */
export function sendDeviceErrorReply(
  aedes: Aedes,
  deviceId: string,
  payload: Uint8Array,
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
): boolean {
  const reply = deviceErrorReply(deviceId, payload, code, message, details);
  if (reply === undefined) return false;
  aedes.publish(
    {
      cmd: 'publish',
      topic: reply.topic,
      payload: Buffer.from(reply.payload),
      qos: 1,
      retain: false,
      dup: false,
    },
    () => {},
  );
  return true;
}

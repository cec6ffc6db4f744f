/**
 * The Mosquitto of this machine, the "external broker" of the interop tests (edge agent and device SDK
 * on a broker that is not fogline's). CI starts it when it is down (.ci/ensure-services.sh), so its
 * tests fail, never skip, without it.
 */
import { createConnection } from 'node:net';

export const MOSQUITTO_URL = 'mqtt://127.0.0.1:1883';

export const NO_MOSQUITTO = `no Mosquitto at ${MOSQUITTO_URL}: start it with .ci/ensure-services.sh`;

/** Whether something accepts TCP connections where Mosquitto should be. */
export function mosquittoReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: 1883 }, () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

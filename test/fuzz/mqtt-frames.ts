/**
 * Raw MQTT for the broker fuzz suite: valid packets (mqtt-packet) to mutate, oversized and lying
 * frames, and one exchange over a real socket that says how the broker answered.
 */
import { connect } from 'node:net';
import * as mqttPacket from 'mqtt-packet';
import { concat } from './mutator.ts';

export function packet(p: Record<string, unknown>): Uint8Array {
  return new Uint8Array(mqttPacket.generate(p as unknown as mqttPacket.Packet));
}

export const connectPacket = (clientId: string, password: string) =>
  packet({
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    keepalive: 30,
    clientId,
    username: clientId,
    password: Buffer.from(password),
  });

export const publishPacket = (topic: string, payload: Uint8Array, qos: 0 | 1 = 1) =>
  packet({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos,
    messageId: qos ? 7 : undefined,
    retain: false,
    dup: false,
  });

export const subscribePacket = (topic: string) =>
  packet({ cmd: 'subscribe', messageId: 3, subscriptions: [{ topic, qos: 1 }] });

/** Frames no client should send: a remaining length of 256 MiB with a few bytes, one too large to buffer, and noise. */
export function hostileFrames(maxPacketBytes: number): Uint8Array[] {
  return [
    Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, 0x61]),
    Uint8Array.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff]),
    Uint8Array.from([0x00, 0x00]),
    Uint8Array.from([0xf0, 0x00]),
    publishPacket('a', new Uint8Array(maxPacketBytes + 1024)),
  ];
}

/** A session's bytes: CONNECT, then `packets`. */
export const session = (connectBytes: Uint8Array, ...packets: Uint8Array[]) =>
  concat(connectBytes, ...packets);

/**
 * Writes `bytes` on a fresh socket, waits for the broker's first answer (or `quietMs` of silence),
 * writes `after` once a CONNACK accepts the session, half-closes, and waits for the broker to close
 * it. The outcome is "connack-<rc>" (first packet a CONNACK), "answered" (another packet first), "closed" (nothing), or "timeout" (still open
 * `waitMs` after the half-close: the broker stopped answering).
 */
export function mqttExchange(
  port: number,
  bytes: Uint8Array,
  after?: Uint8Array,
  quietMs = 300,
  waitMs = 15_000,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let first: Buffer | undefined;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (outcome?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome) return resolve(outcome);
      if (!first) return resolve('closed');
      resolve(first[0] === 0x20 && first.length >= 4 ? `connack-${first[3]}` : 'answered');
    };
    const halfClose = () => {
      clearTimeout(timer);
      socket.end();
      timer = setTimeout(() => done('timeout'), waitMs);
    };
    socket.on('connect', () => {
      socket.write(bytes);
      timer = setTimeout(halfClose, quietMs);
    });
    socket.on('data', (chunk: Buffer) => {
      if (first) return;
      first = chunk;
      if (after && chunk[0] === 0x20 && chunk[3] === 0) socket.write(after);
      // Let the packets after CONNECT reach the broker's handlers before hanging up.
      clearTimeout(timer);
      timer = setTimeout(halfClose, after ? 50 : 20);
    });
    socket.on('error', () => done());
    socket.on('close', () => done());
  });
}

/**
 * The cheap refusal of a connection from an address over its failed-authentication budget
 * (docs/security.md "Authentication cost"): no Aedes client is made for it. Its CONNECT is read only
 * far enough to learn the protocol level, answered with a refusing CONNACK (MQTT 3.1.1 return code 3,
 * server unavailable; MQTT 5 reason 0x89, server busy) and the connection closed. A client that sends
 * nothing is closed after `timeoutMs`. A flood from such an address then costs an accept, a read and a
 * write per connection.
 */
import type { Duplex } from 'node:stream';

const CONNECT = 0x10;
/** CONNACK, remaining length 2, no session present, return code 3 [MQTT-3.2.2.3]. */
const CONNACK_SERVER_UNAVAILABLE = Buffer.from([0x20, 0x02, 0x00, 0x03]);
/** MQTT 5 CONNACK: remaining length 3, no session present, reason 0x89 (server busy), no properties. */
const CONNACK_V5_SERVER_BUSY = Buffer.from([0x20, 0x03, 0x00, 0x89, 0x00]);
/** Enough of a CONNECT to hold its protocol level (fixed header ≤ 5, name ≤ 8, level 1). */
const HEAD_BYTES = 16;

/**
 * The protocol level of the CONNECT that `head` starts with; null when it is not a CONNECT, undefined
 * while more bytes are needed.
 */
export function connectProtocolLevel(head: Buffer): number | null | undefined {
  if (head.length === 0) return undefined;
  if (head[0] !== CONNECT) return null;
  let at = 1;
  while (at < head.length && at <= 4 && (head[at]! & 0x80) !== 0) at++;
  at++; // past the last byte of the remaining length
  if (head.length < at + 2) return undefined;
  const nameLength = head.readUInt16BE(at);
  if (nameLength > 6) return null; // 'MQTT' or 'MQIsdp'
  const levelAt = at + 2 + nameLength;
  return levelAt < head.length ? head[levelAt]! : undefined;
}

export function refuseThrottledConnection(stream: Duplex, timeoutMs: number): void {
  let head = Buffer.alloc(0);
  const timer = setTimeout(() => stream.destroy(), timeoutMs);
  timer.unref?.();
  const finish = (reply?: Buffer) => {
    clearTimeout(timer);
    stream.off('data', onData);
    if (reply) stream.end(reply, () => stream.destroy());
    else stream.destroy();
  };
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]).subarray(0, HEAD_BYTES);
    const level = connectProtocolLevel(head);
    if (level === undefined && head.length < HEAD_BYTES) return;
    if (level === null || level === undefined) return finish();
    finish(level === 5 ? CONNACK_V5_SERVER_BUSY : CONNACK_SERVER_UNAVAILABLE);
  };
  stream.on('data', onData);
  stream.on('error', () => clearTimeout(timer));
  stream.once('close', () => clearTimeout(timer));
}

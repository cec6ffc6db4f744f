/**
 * MQTT 3.1.1 adapter of the load generator: lean devices on the edge's broker, one TCP socket each
 * (TCP_NODELAY), packets built and parsed by mqtt-packet (the codec of MQTT.js and Aedes). Requests
 * are real fogline frames (QoS 1 on the edge's infer topic) encoded once per image as a whole
 * PUBLISH; each send copies one and patches its packet id and fixed-width request id in place.
 * Replies are acknowledged and matched by their header's `id` (tensors are not decoded); the writes
 * made while one chunk of input is handled go out together (cork/uncork). A request unanswered after
 * `lostAfterMs` counts as NO_REPLY.
 */
import net from 'node:net';
import { encodeInferMessage } from '@fogline/shared/codec';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits-dataset';
import { topics } from '@fogline/shared/topics';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Done, LoadAdapter, LoadConnection } from './closed-loop.ts';

export interface MqttTarget {
  /** `mqtt://host:port`. */
  readonly broker: string;
  readonly edgeId: string;
  readonly devices: readonly { readonly id: string; readonly token: string }[];
  readonly deadlineMs: number;
  readonly lostAfterMs: number;
}

/** Request ids are `<device index, 4 hex><sequence, 8 hex>`: fixed width, so they patch in place. */
const ID_WIDTH = 12;
const PLACEHOLDER_ID = 'Z'.repeat(ID_WIDTH);
const PLACEHOLDER_PACKET_ID = 0xabcd;
const IMAGES = 16;

/** One whole PUBLISH per image, and where its packet id and request id sit. */
function templates(target: MqttTarget, images: Float32Array, replyTo: string) {
  const topic = topics.infer(target.edgeId);
  return Array.from({ length: IMAGES }, (_, i) => {
    const data = images.subarray(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);
    const parameters = { reply_to: replyTo, deadline_ms: target.deadlineMs };
    const frame = encodeInferMessage({ id: PLACEHOLDER_ID, parameters }, [
      { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data },
    ]);
    const payload = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const packet = mqttPacket.generate({
      cmd: 'publish',
      topic,
      payload,
      qos: 1,
      messageId: PLACEHOLDER_PACKET_ID,
      retain: false,
      dup: false,
    });
    const packetIdAt = packet.indexOf(topic) + Buffer.byteLength(topic);
    if (packet.readUInt16BE(packetIdAt) !== PLACEHOLDER_PACKET_ID)
      throw new Error('unexpected PUBLISH layout');
    return { packet, packetIdAt, idAt: packet.indexOf(PLACEHOLDER_ID, packetIdAt, 'latin1') };
  });
}

/** The request id of a reply frame and, for an error reply, its code. */
function replyOf(frame: Buffer): { id: string; errorCode: string | null } {
  type Header = { id?: string; error?: string; parameters?: { error_code?: string } };
  const header = JSON.parse(frame.toString('utf8', 4, 4 + frame.readUInt32LE(0))) as Header;
  const errorCode = header.error === undefined ? null : (header.parameters?.error_code ?? 'ERROR');
  return { id: header.id ?? '', errorCode };
}

export function mqttAdapter(target: MqttTarget): LoadAdapter {
  const { hostname, port } = new URL(target.broker);
  const images = loadDigits('test').images.slice(0, IMAGES * DIGIT_PIXELS);
  return {
    connect: (index) =>
      new Promise((resolve, reject) => {
        const device = target.devices[index]!;
        const replyTo = topics.reply(device.id);
        const requests = templates(target, images, replyTo);
        const prefix = index.toString(16).padStart(4, '0');
        const pending = new Map<string, { sentAt: number; done: Done }>();
        let sequence = 0;
        let packetId = 0;
        let alive = true;
        const socket = net.connect({ host: hostname, port: Number(port), noDelay: true });
        const write = (packet: Parameters<typeof mqttPacket.generate>[0]) =>
          socket.write(mqttPacket.generate(packet));
        const settle = (id: string, errorCode: string | null) => {
          const request = pending.get(id);
          if (!request) return; // already counted as lost
          pending.delete(id);
          request.done(errorCode);
        };
        const sweeper = setInterval(() => {
          const cutoff = performance.now() - target.lostAfterMs;
          for (const [id, r] of pending) if (r.sentAt < cutoff) settle(id, 'NO_REPLY');
        }, 100);
        const fail = (err: Error) => {
          alive = false;
          clearInterval(sweeper);
          for (const id of [...pending.keys()]) settle(id, 'CONNECTION_LOST');
          socket.destroy();
          reject(err);
        };
        const connection: LoadConnection = {
          get alive() {
            return alive;
          },
          send(done) {
            const template = requests[sequence % requests.length]!;
            const id = prefix + (sequence++ >>> 0).toString(16).padStart(8, '0');
            packetId = packetId === 0xffff ? 1 : packetId + 1;
            const packet = Buffer.from(template.packet);
            packet.writeUInt16BE(packetId, template.packetIdAt);
            packet.write(id, template.idAt, ID_WIDTH, 'latin1');
            pending.set(id, { sentAt: performance.now(), done });
            socket.write(packet);
          },
          close: () =>
            new Promise((closed) => {
              alive = false;
              clearInterval(sweeper);
              socket.removeAllListeners('close');
              socket.end(mqttPacket.generate({ cmd: 'disconnect' }), closed);
            }),
        };
        const parser = mqttPacket.parser({ protocolVersion: 4 });
        parser.on('packet', (packet: Packet) => {
          if (packet.cmd === 'connack') {
            if (packet.returnCode !== 0) return fail(new Error(`${device.id}: CONNACK ${packet.returnCode}`));
            write({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: replyTo, qos: 1 }] });
          } else if (packet.cmd === 'suback') {
            if (packet.granted[0] !== 1) return fail(new Error(`${device.id}: SUBACK refused ${replyTo}`));
            resolve(connection);
          } else if (packet.cmd === 'publish') {
            if (packet.qos > 0) write({ cmd: 'puback', messageId: packet.messageId! });
            const { id, errorCode } = replyOf(packet.payload as Buffer);
            settle(id, errorCode);
          }
        });
        parser.on('error', fail);
        socket.on('data', (chunk) => {
          socket.cork();
          parser.parse(chunk);
          socket.uncork();
        });
        socket.on('error', fail);
        socket.on('close', () => fail(new Error(`${device.id}: connection closed by the broker`)));
        socket.once('connect', () => {
          const { id, token } = device;
          write({
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: 4,
            clientId: id,
            clean: true,
            keepalive: 0,
            username: id,
            password: Buffer.from(token),
          });
        });
      }),
  };
}

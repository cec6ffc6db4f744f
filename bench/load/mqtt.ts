/**
 * MQTT 3.1.1 adapter of the load generator: lean devices, a socket each (TCP_NODELAY), packets built
 * and parsed by mqtt-packet. Each request is a real fogline frame (QoS 1); replies are acknowledged
 * and matched by their header's `id` (tensors are not decoded); writes are corked per input chunk.
 */
import net from 'node:net';
import { encodeInferMessage, topics } from '@fogline/shared';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import mqttPacket, { type Packet } from 'mqtt-packet';
import type { Done, LoadAdapter, LoadConnection } from './closed-loop.ts';

export interface MqttTarget {
  /** `mqtt://host:port`. */
  readonly broker: string;
  readonly edgeId: string;
  readonly devices: readonly { readonly id: string; readonly token: string }[];
  readonly deadlineMs: number;
  /** A request unanswered this long counts as NO_REPLY. */
  readonly lostAfterMs: number;
}

/** The request id of a reply frame and, for an error reply, its code. */
function replyOf(frame: Buffer): { id: string; errorCode: string | null } {
  type Header = { id?: string; error?: string; parameters?: { error_code?: string } };
  const header = JSON.parse(frame.toString('utf8', 4, 4 + frame.readUInt32LE(0))) as Header;
  const errorCode = header.error === undefined ? null : (header.parameters?.error_code ?? 'ERROR');
  return { id: header.id ?? '', errorCode };
}

const IMAGES = 16;
/** Request ids are `<device>-<sequence>` with a fixed-width sequence, so they can be patched in place. */
const ID_DIGITS = 9;
const shape = [1, 1, 28, 28];

export function mqttAdapter(target: MqttTarget): LoadAdapter {
  const { hostname, port } = new URL(target.broker);
  const images = loadDigits('test').images.slice(0, IMAGES * DIGIT_PIXELS);
  return {
    connect: (index) =>
      new Promise((resolve, reject) => {
        const device = target.devices[index]!;
        const replyTo = topics.reply(device.id);
        const topic = topics.infer(target.edgeId);
        const parameters = { reply_to: replyTo, deadline_ms: target.deadlineMs };
        const pending = new Map<string, { sentAt: number; done: Done }>();
        const marker = '0'.repeat(ID_DIGITS);
        const templates = Array.from({ length: IMAGES }, (_, i) => {
          const data = images.subarray(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);
          const frame = encodeInferMessage({ id: `${index}-${marker}`, parameters }, [
            { name: 'image', datatype: 'FP32', shape, data },
          ]);
          const payload = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
          const publish = { cmd: 'publish', topic, payload, qos: 1, messageId: 1 } as const;
          return mqttPacket.generate({ ...publish, retain: false, dup: false });
        });
        // Byte offsets in every template: the packet id follows the topic; the id digits sit in the JSON header.
        const packetIdAt = templates[0]!.indexOf(Buffer.from(topic)) + Buffer.byteLength(topic);
        const idAt = templates[0]!.indexOf(`"${index}-${marker}"`) + `"${index}-`.length;
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
            // A copy of a pre-built PUBLISH with this request's id digits and packet id patched in: the
            // generator's own CPU per request stays small next to what it measures.
            const seq = String(sequence % 10 ** ID_DIGITS).padStart(ID_DIGITS, '0');
            const id = `${index}-${seq}`;
            const packet = Buffer.from(templates[sequence++ % IMAGES]!);
            packet.write(seq, idAt, 'latin1');
            packetId = packetId === 0xffff ? 1 : packetId + 1;
            packet.writeUInt16BE(packetId, packetIdAt);
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
          const login = {
            clientId: id,
            username: id,
            password: Buffer.from(token),
            clean: true,
            keepalive: 0,
          };
          write({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, ...login });
        });
      }),
  };
}

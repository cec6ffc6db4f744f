/**
 * The cheapest closed-loop MQTT 3.1.1 load that still behaves like devices, for the edge-throughput
 * part of `npm run bench -- fabric` (in the spirit of wrk and bench/cloud-loadgen.mjs). The load
 * generator shares the cores with the edge it measures, so every microsecond it spends is one the
 * edge does not get:
 * - one raw TCP socket per device (TCP_NODELAY); CONNECT/SUBSCRIBE are built by mqtt-packet (the
 *   codec of MQTT.js and Aedes), incoming packets are split by a minimal reader (PacketReader) that
 *   only looks at what a device receives: CONNACK, SUBACK, PUBACK, PUBLISH;
 * - requests are real fogline frames (`encodeInferMessage`, QoS 1 on the edge's infer topic), encoded
 *   once per image as a complete PUBLISH packet; each send copies one into a buffer owned by its
 *   in-flight slot and patches the packet id and the fixed-width request id in place;
 * - replies are acknowledged (PUBACK) and matched by the `id` read from their JSON header bytes (the
 *   tensors are not decoded); every write made while one chunk of input is handled goes out in one
 *   writev (cork/uncork);
 * - no timer per request: a sweep every 100 ms counts requests unanswered after `lostAfterMs` as
 *   NO_REPLY, and their slot sends the next one.
 * Helper of bench/fabric-devices.ts.
 */
import net from 'node:net';
import { encodeInferMessage } from '@fogline/shared';
import mqttPacket from 'mqtt-packet';
import { CONNACK, PacketReader, PUBLISH, SUBACK } from './mqtt-packet-reader.ts';

export interface LoadDevice {
  readonly id: string;
  readonly token: string;
}

export interface ClosedLoopOptions {
  readonly host: string;
  readonly port: number;
  readonly devices: readonly LoadDevice[];
  readonly inferTopic: string;
  readonly replyTopic: (deviceId: string) => string;
  /** Requests each device keeps in flight. */
  readonly inFlightPerDevice: number;
  /** Inputs to cycle through (one `[1, ...shape]` FP32 tensor each). */
  readonly images: readonly Float32Array[];
  readonly inputName: string;
  readonly shape: readonly number[];
  readonly deadlineMs: number;
  /** A request unanswered this long counts as NO_REPLY. */
  readonly lostAfterMs: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface ClosedLoopResult {
  /** Sent and answered inside the measured window. */
  readonly completed: number;
  /** Latencies of those, ms. */
  readonly latencies: number[];
  /** Error replies and lost requests in the window, by code. */
  readonly errors: Record<string, number>;
  /** Every request answered or lost, warm-up included. */
  readonly total: number;
}

/** Request ids are `<device index, 4 hex><sequence, 8 hex>`: fixed width, so they patch in place. */
const ID_WIDTH = 12;
const ID_PLACEHOLDER = 'Z'.repeat(ID_WIDTH);
const PUBACK = 0x40;

interface Template {
  readonly packet: Buffer;
  /** Offset of the 2-byte packet id. */
  readonly messageIdAt: number;
  /** Offset of the request id inside the packet. */
  readonly idAt: number;
}

function buildTemplates(options: ClosedLoopOptions, replyTo: string): Template[] {
  return options.images.map((image) => {
    const payload = encodeInferMessage(
      { id: ID_PLACEHOLDER, parameters: { reply_to: replyTo, deadline_ms: options.deadlineMs } },
      [{ name: options.inputName, datatype: 'FP32', shape: [...options.shape], data: image }],
    );
    const packet = mqttPacket.generate({
      cmd: 'publish',
      topic: options.inferTopic,
      payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      qos: 1,
      messageId: 0xabcd,
      retain: false,
      dup: false,
    });
    const topicEnd = packet.indexOf(Buffer.from(options.inferTopic)) + options.inferTopic.length;
    if (packet.readUInt16BE(topicEnd) !== 0xabcd) throw new Error('unexpected PUBLISH layout');
    return { packet, messageIdAt: topicEnd, idAt: packet.indexOf(ID_PLACEHOLDER, topicEnd + 2, 'latin1') };
  });
}

const ID_KEY = Buffer.from('"id":"');
const SUCCESS_KEY = Buffer.from('"model_name"');

/**
 * The request `id` of a reply and, for an error reply, its `parameters.error_code`. Answers are told
 * by their `model_name` and their fixed-width id is read straight from the header bytes; only error
 * replies (rare) are parsed as JSON.
 */
function replyIdentity(payload: Buffer): { id: string; errorCode: string | null } {
  const headerEnd = 4 + payload.readUInt32LE(0);
  const success = payload.indexOf(SUCCESS_KEY, 4);
  if (success >= 0 && success < headerEnd) {
    const at = payload.indexOf(ID_KEY, 4);
    if (at >= 0 && at < headerEnd) {
      const from = at + ID_KEY.length;
      return { id: payload.toString('latin1', from, from + ID_WIDTH), errorCode: null };
    }
  }
  const header = JSON.parse(payload.toString('utf8', 4, headerEnd)) as {
    id?: string;
    error?: string;
    parameters?: { error_code?: string };
  };
  return {
    id: header.id ?? '',
    errorCode: header.error === undefined ? 'MALFORMED_REPLY' : (header.parameters?.error_code ?? 'ERROR'),
  };
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const started = performance.now();
  const measureFrom = started + options.warmupMs;
  const end = measureFrom + options.durationMs;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let total = 0;
  const record = (sentAt: number, errorCode: string | null) => {
    total++;
    const now = performance.now();
    if (sentAt < measureFrom || now > end) return;
    if (errorCode === null) latencies.push(now - sentAt);
    else errors[errorCode] = (errors[errorCode] ?? 0) + 1;
  };
  const sweeps: (() => void)[] = [];
  const sweeper = setInterval(() => {
    for (const sweep of sweeps) sweep();
  }, 100);
  try {
    await Promise.all(
      options.devices.map((device, index) =>
        runDevice(options, device, index, end, record, (sweep) => sweeps.push(sweep)),
      ),
    );
  } finally {
    clearInterval(sweeper);
  }
  return { completed: latencies.length, latencies, errors, total };
}

function runDevice(
  options: ClosedLoopOptions,
  device: LoadDevice,
  index: number,
  end: number,
  record: (sentAt: number, errorCode: string | null) => void,
  addSweep: (sweep: () => void) => void,
): Promise<void> {
  const replyTo = options.replyTopic(device.id);
  const templates = buildTemplates(options, replyTo);
  const prefix = index.toString(16).padStart(4, '0');
  const pending = new Map<string, number>(); // request id → sent at
  // Every template has the same length; each packet in flight gets one of these and keeps it until
  // its reply, which cannot come before the packet was written out.
  const packetLength = templates[0]!.packet.length;
  if (templates.some((t) => t.packet.length !== packetLength)) {
    throw new Error('load requests must all encode to the same length (same shape, fixed-width ids)');
  }
  const free: Buffer[] = Array.from({ length: options.inFlightPerDevice }, () =>
    Buffer.allocUnsafe(packetLength),
  );
  const bufferOf = new Map<string, Buffer>();
  let sequence = 0;
  let messageId = 0;
  let inFlight = 0;

  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port, noDelay: true });
    let finished = false;
    const finish = (err?: Error) => {
      if (finished) return;
      finished = true;
      if (err) {
        socket.destroy();
        reject(err);
      } else socket.end(mqttPacket.generate({ cmd: 'disconnect' }), () => resolve());
    };
    const send = () => {
      if (performance.now() >= end) {
        if (inFlight === 0) finish();
        return;
      }
      const template = templates[sequence % templates.length]!;
      const id = prefix + (sequence++ >>> 0).toString(16).padStart(8, '0');
      messageId = messageId === 0xffff ? 1 : messageId + 1;
      const packet = free.pop()!;
      template.packet.copy(packet);
      packet.writeUInt16BE(messageId, template.messageIdAt);
      packet.write(id, template.idAt, ID_WIDTH, 'latin1');
      pending.set(id, performance.now());
      bufferOf.set(id, packet);
      inFlight++;
      socket.write(packet);
    };
    const settle = (id: string, errorCode: string | null) => {
      const sentAt = pending.get(id);
      if (sentAt === undefined) return; // already counted as lost
      pending.delete(id);
      // A reply proves its packet was written out; a lost one may still sit in the socket's queue.
      free.push(errorCode === 'NO_REPLY' ? Buffer.allocUnsafe(packetLength) : bufferOf.get(id)!);
      bufferOf.delete(id);
      inFlight--;
      record(sentAt, errorCode);
      send();
    };
    addSweep(() => {
      const cutoff = performance.now() - options.lostAfterMs;
      for (const [id, sentAt] of pending) if (sentAt < cutoff) settle(id, 'NO_REPLY');
    });
    const reader = new PacketReader((type, flags, body) => {
      switch (type) {
        case CONNACK:
          if (body[1] !== 0) return finish(new Error(`${device.id}: CONNACK code ${body[1]}`));
          socket.write(
            mqttPacket.generate({
              cmd: 'subscribe',
              messageId: 1,
              subscriptions: [{ topic: replyTo, qos: 1 }],
            }),
          );
          return;
        case SUBACK:
          if (body[2] !== 1) return finish(new Error(`${device.id}: SUBACK refused ${replyTo}`));
          for (let i = 0; i < options.inFlightPerDevice; i++) send();
          return;
        case PUBLISH: {
          const qos = (flags >> 1) & 0x03;
          let at = 2 + body.readUInt16BE(0);
          if (qos > 0) {
            const ack = Buffer.allocUnsafe(4);
            ack[0] = PUBACK;
            ack[1] = 2;
            ack[2] = body[at]!;
            ack[3] = body[at + 1]!;
            socket.write(ack);
            at += 2;
          }
          const { id, errorCode } = replyIdentity(body.subarray(at));
          settle(id, errorCode);
          return;
        }
        default:
          return; // PUBACK of our requests
      }
    });
    socket.on('data', (chunk) => {
      socket.cork();
      try {
        reader.push(chunk);
      } catch (err) {
        finish(err as Error);
      }
      socket.uncork();
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`${device.id}: connection closed by the broker`)));
    socket.once('connect', () =>
      socket.write(
        mqttPacket.generate({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clientId: device.id,
          clean: true,
          keepalive: 0,
          username: device.id,
          password: Buffer.from(device.token),
        }),
      ),
    );
  });
}

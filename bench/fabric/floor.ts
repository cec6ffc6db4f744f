/**
 * The floor under the edge-throughput figure of `npm run bench -- fabric`: a bare Aedes broker (no
 * authentication, ACL or rate limit; TCP_NODELAY and per-turn write coalescing like fogline's) whose
 * only work is an in-process echo — for each request on the infer topic it reads the JSON header and publishes a tensor-less
 * answer with the same `id` to the `reply_to` topic, QoS 1 — under the very load the edge gets (same
 * load generator, same concurrency). Its CPU per request is what MQTT alone costs here; with the load
 * generator's and the model's own (1 / raw samples/s), it bounds what any MQTT edge can reach on this
 * machine, and the rest of the edge's CPU is fogline's own work (decode, validation, batching, the
 * worker hop, scoring, encoding, ACL, rate limit).
 */
import { createServer } from 'node:net';
import { coalesceWrites } from '@fogline/shared/broker/write-coalescing';
import { topics } from '@fogline/shared/topics';
import { Aedes, type AedesPublishPacket } from 'aedes';
import { perRequest, startCounters } from '../lib/process-counters.ts';
import { type MqttLoadPlan, runLoad } from '../load/run-load.ts';

export interface BrokerFloor {
  readonly concurrency: number;
  readonly reqPerSec: number;
  /** CPU of the broker's process per request (the echo included). */
  readonly brokerCpuMicros: number;
  /** CPU of the device (load) process per request. */
  readonly loadCpuMicros: number;
  /** Write syscalls of the broker's process per request (null where /proc/self/io is missing). */
  readonly brokerWritesPerRequest: number | null;
  /** Whether the broker coalesced each connection's writes per event-loop turn, as fogline's does. */
  readonly coalescedWrites: boolean;
  readonly errors: Record<string, number>;
}

function echoReply(payload: Buffer): { topic: string; frame: Buffer } | null {
  const length = payload.readUInt32LE(0);
  const header = JSON.parse(payload.toString('utf8', 4, 4 + length)) as {
    id?: string;
    parameters?: { reply_to?: string };
  };
  const topic = header.parameters?.reply_to;
  if (typeof topic !== 'string') return null;
  const json = Buffer.from(JSON.stringify({ id: header.id, model_name: 'echo', outputs: [] }));
  const frame = Buffer.allocUnsafe(4 + json.length);
  frame.writeUInt32LE(json.length, 0);
  json.copy(frame, 4);
  return { topic, frame };
}

/** Runs `load` against the bare broker; `coalesce`: per-turn writes like fogline's broker, or one write per packet as Aedes does. */
export async function measureBrokerFloor(load: MqttLoadPlan, coalesce: boolean): Promise<BrokerFloor> {
  const aedes = await Aedes.createBroker();
  const inferTopic = topics.infer(load.edgeId);
  aedes.on('publish', (packet: AedesPublishPacket, client) => {
    if (client === null || packet.topic !== inferTopic) return;
    const reply = echoReply(packet.payload as Buffer);
    if (reply === null) return;
    aedes.publish(
      { cmd: 'publish', topic: reply.topic, payload: reply.frame, qos: 1, retain: false, dup: false },
      () => {},
    );
  });
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    if (coalesce) coalesceWrites(socket);
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    const counters = startCounters();
    const r = await runLoad({ ...load, broker: `mqtt://127.0.0.1:${port}` });
    const spent = counters();
    return {
      concurrency: load.connections * load.inFlightPerConnection,
      reqPerSec: r.completed / r.seconds,
      brokerCpuMicros: spent.cpuMicros / Math.max(1, r.total),
      loadCpuMicros: r.cpuMicrosPerRequest,
      brokerWritesPerRequest: perRequest(spent.writeSyscalls, r.total),
      coalescedWrites: coalesce,
      errors: r.errors,
    };
  } finally {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * The floor under the edge throughput: a bare Aedes broker (no auth, ACL or rate limit) whose only work
 * is to echo each request's `id` to its `reply_to`, under the same load. Its CPU per request is what
 * MQTT alone costs here, with per-turn write coalescing as fogline's broker does.
 */
import { createServer } from 'node:net';
import { topics } from '@fogline/shared';
import { coalesceWrites } from '@fogline/shared/broker';
import { Aedes, type AedesPublishPacket } from 'aedes';
import { startCounters } from '../lib/process-counters.ts';
import { type MqttLoadPlan, runLoad } from '../load/run-load.ts';

export type BrokerFloor = Awaited<ReturnType<typeof measureBrokerFloor>>;

function echoReply(payload: Buffer): { topic: string; frame: Buffer } | null {
  type Header = { id?: string; parameters?: { reply_to?: string } };
  const header = JSON.parse(payload.toString('utf8', 4, 4 + payload.readUInt32LE(0))) as Header;
  const topic = header.parameters?.reply_to;
  const json = Buffer.from(JSON.stringify({ id: header.id, model_name: 'echo', outputs: [] }));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  return typeof topic === 'string' ? { topic, frame: Buffer.concat([length, json]) } : null;
}

/** `load` against the bare broker. */
export async function measureBrokerFloor(load: MqttLoadPlan) {
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
    coalesceWrites(socket);
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    let counters = startCounters();
    const r = await runLoad({ ...load, broker: `mqtt://127.0.0.1:${port}` }, () => {
      counters = startCounters(); // from the connects on, as for the servers it is the floor of
    });
    return {
      concurrency: load.connections * load.inFlightPerConnection,
      reqPerSec: r.completed / r.seconds,
      latency: r.latency,
      /** Per request, µs: the broker's process (echo included) and the load process. */
      brokerCpuMicros: counters().cpuMicros / Math.max(1, r.total),
      loadCpuMicros: r.cpuMicrosPerRequest,
      errors: r.errors,
    };
  } finally {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

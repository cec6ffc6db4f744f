/**
 * Faults suite: a device's connection dropped mid-request. A wire-level device (MQTT.js, so the test
 * owns the socket) has requests in flight at an edge whose cloud never answers (a TCP black hole: the
 * edge holds each request until its deadline, then answers degraded); its socket is destroyed, it
 * reconnects under the same client id and sends again, under the same ids, every request it has no
 * reply to. The edge must stay up, answer each id exactly once (with a clean session and with a
 * persistent one, which keeps the replies published while the device was away), and drain its
 * in-flight table (fogline_edge_in_flight on its /metrics back to 0).
 */
import { createServer, type Socket } from 'node:net';
import { eventually } from '@fogline/cloud/testing';
import { seedDeviceList } from '@fogline/edge-agent/testing';
import { topics } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { edgeMetric, faultRun, image, progress, SLACK_MS } from './fault-run.ts';
import { connectWireDevice } from './wire-device.ts';

const run = faultRun();
const EDGE_ID = 'edge-drop';
const DEADLINE_MS = 3000;
const BURST = 8;
const ROUNDS = 3;

/** A "cloud" that accepts connections and never answers: the edge's cloud calls hang until their deadline. */
async function blackHole(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  run.later(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function startEdge() {
  const dataDir = await run.tempDir('fogline-faults-drop-');
  await seedDeviceList(dataDir, [
    { id: 'dev-clean', token: 'tok-clean' },
    { id: 'dev-persistent', token: 'tok-persistent' },
  ]);
  return run.start(
    [
      ...['edge', '--id', EDGE_ID, '--cloud', await blackHole(), '--device-list-poll-ms', '0'],
      ...['--host', '127.0.0.1', '--mqtt-port', '0', '--metrics-port', '0', '--data-dir', dataDir],
      // Everything escalates, and the breaker never opens: each request waits for its deadline.
      ...['--routing-score', 'entropy', '--threshold', '1', '--breaker-volume', '100000'],
      ...['--breaker-consecutive', '100000', '--workers', '1', '--quiet'],
    ],
    { FOGLINE_EDGE_TOKEN: 'edge-token' },
  );
}

describe('faults: a device dropped mid-request reconnects and sends again', { timeout: 240_000 }, () => {
  let edge: Awaited<ReturnType<typeof startEdge>>;

  it.each([
    ['clean', true],
    ['persistent', false],
  ])('%s session: each request id answered exactly once, the edge drains', async (name, clean) => {
    edge ??= await startEdge();
    const url = `mqtt://127.0.0.1:${edge.ready.mqtt.port}`;
    const device = await connectWireDevice(url, `dev-${name}`, `tok-${name}`, EDGE_ID, { clean });
    run.later(() => device.close());
    const inFlight = () => edgeMetric(edge, 'fogline_edge_in_flight');
    const duplicateDrops = () =>
      edgeMetric(edge, 'fogline_edge_dropped_total', '{reason="duplicate-in-flight"}');
    const joinedBefore = await duplicateDrops();
    const ids: string[] = [];
    let resent = 0;
    let sessionPresent = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const burst = Array.from({ length: BURST }, (_, i) => device.send(image(i), DEADLINE_MS)!);
      ids.push(...burst);
      // All of them reached the edge and wait there on the cloud.
      await eventually(async () => (await inFlight()) >= BURST, 30_000);
      const reconnected = device.nextConnect();
      device.drop();
      const connack = await reconnected;
      if (connack.sessionPresent) sessionPresent++;
      await device.client.subscribeAsync(topics.reply(`dev-${name}`), { qos: 1 });
      for (const id of burst.filter((requestId) => device.repliesTo(requestId) === 0)) {
        device.send(image(0), DEADLINE_MS, { requestId: id });
        resent++;
      }
      await eventually(() => burst.every((id) => device.repliesTo(id) > 0), 30_000);
      progress(`round ${round}: ${device.replies} replies`);
    }
    await eventually(async () => (await inFlight()) === 0, 30_000);
    // Replies that would come twice come by the last request's deadline.
    await new Promise((r) => setTimeout(r, DEADLINE_MS + SLACK_MS));
    const answeredOnce = ids.filter((id) => device.repliesTo(id) === 1).length;
    const joined = (await duplicateDrops()) - joinedBefore;
    const slowest = Math.round(
      Math.max(...ids.map((id) => device.latencyMs(id) ?? Number.POSITIVE_INFINITY)),
    );
    console.log(
      `faults device drop (${name} session): ${ids.length} requests, ${resent} sent again after the drop, ` +
        `${device.replies} replies, ${answeredOnce} ids answered once, ${device.duplicates().length} twice, ` +
        `errors ${JSON.stringify(Object.fromEntries(device.errors))}, session present on reconnect ` +
        `${sessionPresent}/${ROUNDS}, resends joined to their original at the edge ${joined}, ` +
        `slowest first reply ${slowest} ms (deadline ${DEADLINE_MS} ms)`,
    );
    expect(device.duplicates()).toEqual([]);
    expect(answeredOnce).toBe(ids.length);
    expect(device.errors.size).toBe(0);
    expect(slowest).toBeLessThanOrEqual(DEADLINE_MS + SLACK_MS);
    expect(edge.child.exitCode).toBeNull();
    expect(await inFlight()).toBe(0);
    expect(await edgeMetric(edge, 'fogline_inference_queue_depth')).toBe(0);
  });
});

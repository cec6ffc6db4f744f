/**
 * Faults suite: the brokers restarted under devices with persistent sessions (MQTT clean session off,
 * QoS 1 subscriptions and requests). The edge's embedded broker goes with the edge: stopped with
 * SIGTERM and started again, then killed with SIGKILL and started again (same port, same data dir);
 * the cloud broker goes with the cloud (SIGKILL, same ports), under an edge on it. Both brokers keep
 * sessions in memory (Aedes' default persistence), so nothing of a session survives a restart: the
 * test says so (session present on reconnect), and checks that devices still get every request
 * answered once or refused explicitly before deadline + slack, none twice.
 */
import { eventually } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { seedDeviceList } from '@fogline/edge-agent/testing';
import { freePort } from '@fogline/shared/testing';
import { describe, expect, it } from 'vitest';
import { startCloudSystem } from './cloud-system.ts';
import {
  DEVICES,
  escalate,
  faultRun,
  image,
  type Load,
  load,
  progress,
  report,
  SLACK_MS,
  sdkDevices,
  WIRE,
} from './fault-run.ts';
import { RequestLedger } from './request-ledger.ts';
import { connectWireDevice, type WireDevice } from './wire-device.ts';

const run = faultRun();
const PERSISTENT = [1, 2].map((n) => ({ id: `dev-p${n}`, token: `tok-p${n}` }));
/** Codes a persistent device may settle with: the edge shutting down, or its own deadline. */
const EXPLICIT = ['error UNAVAILABLE', 'error DEADLINE_EXCEEDED'];

/** Persistent-session devices, one request at a time each (queued by MQTT.js while the broker is down). */
function persistentLoad(devices: WireDevice[], ledger: RequestLedger) {
  let running = true;
  const sessions: boolean[] = [];
  for (const d of devices) d.client.on('connect', (connack) => sessions.push(connack.sessionPresent));
  const loops = devices.map(async (device, d) => {
    for (let i = d; running; i += devices.length) {
      await ledger.track(() => device.request(image(i), ledger.deadlineMs));
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    /** Session present, at each reconnect. */
    sessions,
    async stop() {
      running = false;
      await Promise.all(loops);
      await new Promise((r) => setTimeout(r, ledger.deadlineMs + 200));
    },
  };
}

function reportPersistent(name: string, ledger: RequestLedger, devices: WireDevice[], sessions: boolean[]) {
  const counts = ledger.close();
  const duplicates = devices.flatMap((d) => d.duplicates());
  const late = devices.reduce((n, d) => n + d.repliesAfterDeadline, 0);
  console.log(
    `faults ${name}, persistent-session devices: ${counts.requests} requests ${JSON.stringify(counts.outcomes)}, ` +
      `late ${counts.late}, unsettled ${counts.unsettled}, max ${counts.maxMs} ms, ${duplicates.length} ids ` +
      `answered twice, ${late} replies after the device's deadline, session present on reconnect ` +
      `${sessions.filter(Boolean).length}/${sessions.length}`,
  );
  expect(counts.late).toBe(0);
  expect(counts.unsettled).toBe(0);
  expect(Object.keys(counts.outcomes).filter((o) => o.startsWith('error') && !EXPLICIT.includes(o))).toEqual(
    [],
  );
  expect(duplicates).toEqual([]);
}

/** Waits until `tier` answers again (`n` times) after this point. */
async function answeredAgainBy(running: Load, tier: string, n: number, timeoutMs = 60_000) {
  const from = running.tiers.length;
  await eventually(() => running.tiers.slice(from).filter((t) => t === tier).length >= n, timeoutMs);
}

describe('faults: brokers restarted under persistent-session devices', { timeout: 240_000 }, () => {
  it('edge broker: stopped (SIGTERM) and restarted, then killed (SIGKILL) and restarted', async () => {
    const dataDir = await run.tempDir('fogline-faults-broker-');
    await seedDeviceList(dataDir, [...DEVICES, WIRE, ...PERSISTENT]);
    const port = await freePort();
    const startEdge = () =>
      run.start(
        [
          ...['edge', '--id', 'edge-broker', '--cloud', 'http://127.0.0.1:1', '--device-list-poll-ms', '0'],
          ...['--host', '127.0.0.1', '--mqtt-port', String(port), '--data-dir', dataDir],
          ...['--threshold', '0', '--workers', '1', '--device-publish-rate', '500', '--quiet'],
          ...['--shutdown-timeout-ms', '2000'],
        ],
        { FOGLINE_EDGE_TOKEN: 'edge-token' },
      );
    let edge = await startEdge();
    const url = `mqtt://127.0.0.1:${port}`;
    const devices = await sdkDevices(run, url, 'edge-broker');
    const wire = await connectWireDevice(url, WIRE.id, WIRE.token, 'edge-broker');
    const persistent = await Promise.all(
      PERSISTENT.map((d) => connectWireDevice(url, d.id, d.token, 'edge-broker', { clean: false })),
    );
    for (const d of [wire, ...persistent]) run.later(() => d.close());
    const ledger = new RequestLedger(1000, SLACK_MS);
    const persistentLedger = new RequestLedger(1000, SLACK_MS);
    const running = load(devices, wire, ledger);
    const held = persistentLoad(persistent, persistentLedger);
    await answeredAgainBy(running, 'edge', 20, 120_000);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      progress(`edge ${signal}`);
      await edge.stop(signal);
      const downAt = running.tiers.length;
      await eventually(() => running.tiers.length >= downAt + 8, 20_000);
      edge = await startEdge();
      await answeredAgainBy(running, 'edge', 20, 120_000);
      // The persistent devices are served again too (their reply subscription restored).
      const served = persistentLedger.counts.outcomes.edge ?? 0;
      await eventually(() => (persistentLedger.counts.outcomes.edge ?? 0) >= served + 10, 60_000);
    }
    await running.stop();
    await held.stop();
    report('edge broker SIGTERM + SIGKILL restarts', ledger, wire);
    reportPersistent('edge broker SIGTERM + SIGKILL restarts', persistentLedger, persistent, held.sessions);
  });

  it('cloud broker: killed (SIGKILL) and restarted; the edge comes back to it and desired state reaches it', async () => {
    const system = await startCloudSystem(run, 'edge-cloud-broker');
    const devices = await sdkDevices(run, system.edgeBroker, system.edgeId, system.tokens);
    const wire = await connectWireDevice(
      system.edgeBroker,
      WIRE.id,
      system.tokens.get(WIRE.id)!,
      system.edgeId,
    );
    run.later(() => wire.close());
    const ledger = new RequestLedger(1500, SLACK_MS);
    const running = load(devices, wire, ledger);
    await eventually(async () => (await system.admin.getEdge(system.edgeId)).online, 30_000);
    await answeredAgainBy(running, 'cloud', 10);
    await system.cloud.stop('SIGKILL');
    const downAt = running.tiers.length;
    await eventually(() => running.tiers.length >= downAt + 10, 20_000);
    await system.restartCloud();
    await answeredAgainBy(running, 'cloud', 5, 120_000);
    // The edge is back on the cloud broker: present, and a device enrolled now reaches it (desired state).
    await eventually(async () => (await system.admin.getEdge(system.edgeId)).online, 60_000);
    const { token } = await system.admin.createDevice('dev-after', system.edgeId);
    // Refused (CONNACK 5) until the edge has the new device list.
    let after: Device | undefined;
    await eventually(async () => {
      after = await connectDevice({
        broker: system.edgeBroker,
        deviceId: 'dev-after',
        token,
        edgeId: system.edgeId,
        runtime: 'node',
        policy: escalate,
      }).catch(() => undefined);
      return after !== undefined;
    }, 60_000);
    run.later(() => after!.close());
    expect((await after!.infer(image(3), { deadlineMs: 5000 })).tier).toMatch(/edge|cloud/);
    await running.stop();
    report('cloud broker SIGKILL restart', ledger, wire);
  });
});

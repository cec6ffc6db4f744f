/**
 * Faults suite (`npm run test:faults`, not in `npm test`): the cloud and the edge run as `fogline`
 * processes and are killed with SIGKILL and restarted (same port, same data dir), or frozen with
 * SIGSTOP and continued, while real SDK devices keep asking. Per request: exactly one answer or one explicit error before deadline +
 * slack; a wire-level device counts the replies per request id (no duplicates). Counts printed.
 */
import { rm } from 'node:fs/promises';
import { eventually, makeModelRepo } from '@fogline/cloud/testing';
import { seedDeviceList } from '@fogline/edge-agent/testing';
import { freePort } from '@fogline/shared/testing';
import { describe, it } from 'vitest';
import type { FoglineProcess } from '../../cli/src/testing/fogline-process.ts';
import {
  DEVICES,
  faultRun,
  type Load,
  load,
  progress,
  type Ready,
  report,
  SLACK_MS,
  sdkDevices,
  WIRE,
} from './fault-run.ts';
import { RequestLedger } from './request-ledger.ts';
import { connectWireDevice } from './wire-device.ts';

const run = faultRun();
const start = run.start;

describe('faults: tiers killed with SIGKILL and restarted under load', { timeout: 240_000 }, () => {
  it('edge killed and restarted twice: every request answered once, before deadline + slack', async () => {
    const dataDir = await run.tempDir('fogline-faults-edge-');
    await seedDeviceList(dataDir, [...DEVICES, WIRE]);
    const port = await freePort();
    const startEdge = () =>
      start(
        [
          ...['edge', '--id', 'edge-faults', '--cloud', 'http://127.0.0.1:1', '--device-list-poll-ms', '0'],
          ...['--host', '127.0.0.1', '--mqtt-port', String(port), '--data-dir', dataDir],
          ...['--threshold', '0', '--workers', '1', '--device-publish-rate', '500', '--quiet'],
        ],
        { FOGLINE_EDGE_TOKEN: 'edge-token' },
      );
    let edge = await startEdge();
    const url = `mqtt://127.0.0.1:${port}`;
    const devices = await sdkDevices(run, url, 'edge-faults');
    const wire = await connectWireDevice(url, WIRE.id, WIRE.token, 'edge-faults');
    run.later(() => wire.close());
    const ledger = new RequestLedger(500, SLACK_MS);
    const running = load(devices, wire, ledger);
    await eventually(() => running.tiers.filter((t) => t === 'edge').length >= 20, 20_000);
    for (let cycle = 0; cycle < 2; cycle++) {
      await edge.stop('SIGKILL');
      const killedAt = running.tiers.length;
      await eventually(() => running.tiers.length >= killedAt + 8, 20_000); // answered on the devices meanwhile
      edge = await startEdge();
      const back = running.tiers.length;
      // Back on the edge: a run of its answers again.
      await eventually(() => running.tiers.slice(back).filter((t) => t === 'edge').length >= 20, 60_000);
    }
    await running.stop();
    report('edge kill -9 ×2', ledger, wire);
  });

  it('cloud killed and restarted: the edge answers degraded meanwhile, then escalates again', async () => {
    const tiers = await startCloudAndEdge('edge-faults2');
    const { running, ledger, wire } = tiers;
    await eventually(() => running.tiers.filter((t) => t === 'cloud').length >= 10, 30_000);
    await tiers.cloud.stop('SIGKILL');
    const killedAt = running.tiers.length;
    await eventually(() => running.tiers.length >= killedAt + 10, 20_000);
    tiers.cloud = await tiers.startCloud();
    // A run of cloud answers, not one: devices and edge escalate again and go on doing so.
    await backTo(running, 'cloud', tiers, 10);
    await running.stop();
    report('cloud kill -9', ledger, wire);
  });

  it('cloud, then edge, stopped (SIGSTOP) and continued: answered meanwhile, once, in time', async () => {
    const tiers = await startCloudAndEdge('edge-faults3');
    const { running, ledger, wire } = tiers;
    for (const [tier, proc] of [
      ['cloud', tiers.cloud],
      ['edge', tiers.edge],
    ] as const) {
      const from = running.tiers.length;
      await eventually(() => running.tiers.slice(from).filter((t) => t === 'cloud').length >= 10, 60_000);
      proc.child.kill('SIGSTOP');
      progress(`${tier} stopped`);
      const stoppedAt = running.tiers.length;
      // Frozen, not gone: its sockets stay open, so only deadlines can answer for it.
      await eventually(() => running.tiers.length >= stoppedAt + 12, 30_000);
      proc.child.kill('SIGCONT');
      await backTo(running, 'cloud', tiers);
    }
    await running.stop();
    report('cloud SIGSTOP, edge SIGSTOP', ledger, wire);
  });
});

/** A cloud (digits-large) and an edge escalating everything to it, as processes, with devices asking. */
async function startCloudAndEdge(edgeId: string) {
  const dataDir = await run.tempDir('fogline-faults-cloud-');
  const edgeDir = await run.tempDir('fogline-faults-edge-');
  const models = makeModelRepo(['digits-large']);
  run.later(() => rm(models, { recursive: true, force: true }));
  await seedDeviceList(edgeDir, [...DEVICES, WIRE]);
  const httpPort = await freePort();
  const startCloud = () =>
    start([
      ...['cloud', '--host', '127.0.0.1', '--http-port', String(httpPort), '--mqtt-port', '0', '--no-auth'],
      ...['--data-dir', dataDir, '--models', models, '--workers', '1', '--intra-op-threads', '1'],
    ]);
  const cloud = await startCloud();
  const edge = await start(
    [
      ...['edge', '--id', edgeId, '--cloud', `http://127.0.0.1:${httpPort}`, '--device-list-poll-ms', '0'],
      ...['--host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', edgeDir, '--routing-score', 'entropy'],
      ...['--threshold', '1', '--breaker-volume', '3', '--breaker-reset-ms', '1000', '--workers', '1'],
      ...['--device-publish-rate', '500'],
    ],
    { FOGLINE_EDGE_TOKEN: 'edge-token' },
  );
  const url = `mqtt://127.0.0.1:${edge.ready.mqtt.port}`;
  const devices = await sdkDevices(run, url, edgeId);
  const wire = await connectWireDevice(url, WIRE.id, WIRE.token, edgeId);
  run.later(() => wire.close());
  const ledger = new RequestLedger(1500, SLACK_MS);
  return { cloud, edge, startCloud, wire, ledger, running: load(devices, wire, ledger) };
}

/**
 * Waits for `tier` to answer `count` requests again; on a timeout stops the load (and prints the
 * processes' logs when debugging: FOGLINE_FAULTS_DEBUG).
 */
async function backTo(
  running: Load,
  tier: string,
  procs: { cloud: FoglineProcess<Ready>; edge: FoglineProcess<Ready>; ledger: RequestLedger },
  count = 1,
): Promise<void> {
  const back = running.tiers.length;
  try {
    await eventually(() => running.tiers.slice(back).filter((t) => t === tier).length >= count, 120_000);
  } catch (err) {
    await running.stop();
    progress(`outcomes: ${JSON.stringify(procs.ledger.counts.outcomes)}`);
    progress(`edge stderr: ${procs.edge.stderr().slice(-3000)}`);
    progress(`cloud stderr: ${procs.cloud.stderr().slice(-2000)}`);
    throw err;
  }
}

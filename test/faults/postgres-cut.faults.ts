/**
 * Faults suite: PostgreSQL gone. `fogline cloud` runs on a scratch PostgreSQL database through a TCP
 * proxy the test controls (PostgreSQL refuses to run as root here, so it is cut off, not stopped):
 * every connection dropped and new ones refused for some seconds, under devices asking through an
 * enrolled edge, then restored. Inference keeps answering (it needs no database per request while
 * the edge's credential is cached), the admin API answers 503 UNAVAILABLE while it is cut (not 500,
 * not a hang), and everything works again after, without a restart (the pool reconnects).
 */
import { eventually } from '@fogline/cloud/testing';
import { describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../cloud/src/store/scratch-database.ts';
import { startTcpCutter } from '../support/tcp-cutter.ts';
import { adminCall, startCloudSystem } from './cloud-system.ts';
import { faultRun, load, progress, report, SLACK_MS, sdkDevices, WIRE } from './fault-run.ts';
import { RequestLedger } from './request-ledger.ts';
import { connectWireDevice } from './wire-device.ts';

const run = faultRun();
const CUT_MS = 8000;

describe('faults: PostgreSQL cut off under load', { timeout: 240_000 }, () => {
  it('inference answers on, the admin API answers 503 while cut, and all works again after', async () => {
    const database = await createScratchDatabase();
    run.later(() => database.drop());
    const target = new URL(database.url);
    const cutter = await startTcpCutter(target.hostname, Number(target.port || 5432));
    run.later(() => cutter.close());
    const viaProxy = new URL(database.url);
    viaProxy.port = String(cutter.port);
    const system = await startCloudSystem(run, 'edge-pg', { env: { DATABASE_URL: viaProxy.toString() } });
    const { url, adminToken } = system.adminTarget;
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
    await eventually(() => running.tiers.filter((t) => t === 'cloud').length >= 10, 60_000);
    expect((await adminCall(url, adminToken, '/api/edges')).status).toBe(200);

    progress('cutting PostgreSQL');
    cutter.cut();
    const cutAt = performance.now();
    const fromTier = running.tiers.length;
    const during: { status: number; ms: number; text: string }[] = [];
    while (performance.now() - cutAt < CUT_MS) {
      during.push(await adminCall(url, adminToken, '/api/edges'));
      during.push(
        await adminCall(url, adminToken, '/api/devices', {
          id: `dev-cut-${during.length}`,
          edge: system.edgeId,
        }),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    const tiersDuringCut = running.tiers.slice(fromTier);
    progress(
      `restoring PostgreSQL; admin during the cut: ${JSON.stringify(during.map((d) => [d.status, d.ms]))}`,
    );
    cutter.restore();
    const restoredAt = performance.now();
    // Back without a restart: the admin API answers, and a change made now reaches the edge.
    await eventually(async () => (await adminCall(url, adminToken, '/api/edges')).status === 200, 60_000);
    const backMs = Math.round(performance.now() - restoredAt);
    const created = await adminCall(url, adminToken, '/api/devices', {
      id: 'dev-after-cut',
      edge: system.edgeId,
    });
    const fromBack = running.tiers.length;
    await eventually(() => running.tiers.slice(fromBack).filter((t) => t === 'cloud').length >= 5, 60_000);
    await running.stop();

    const statuses: Record<number, number> = {};
    for (const d of during) statuses[d.status] = (statuses[d.status] ?? 0) + 1;
    const cloudDuringCut = tiersDuringCut.filter((t) => t === 'cloud').length;
    console.log(
      `faults PostgreSQL cut ${CUT_MS} ms: admin calls during the cut ${JSON.stringify(statuses)} ` +
        `(slowest ${Math.max(...during.map((d) => d.ms))} ms); answers during the cut: ${tiersDuringCut.length} ` +
        `(${cloudDuringCut} by the cloud); admin API back ${backMs} ms after the restore; ` +
        `device created after: HTTP ${created.status}; proxy connections accepted ${cutter.accepted}`,
    );
    report('PostgreSQL cut', ledger, wire);
    expect(Object.keys(statuses)).toEqual(['503']);
    expect(during.every((d) => /unavailable|database|PostgreSQL/i.test(d.text))).toBe(true);
    expect(cloudDuringCut).toBeGreaterThan(0);
    expect(created.status).toBe(201);
    expect(system.cloud.child.exitCode).toBeNull();
  });
});

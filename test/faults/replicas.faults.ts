/**
 * Faults suite: a cloud of two replicas (docs/scale-out.md) under an edge given both
 * (`--cloud A,B --cloud-broker A,B`) and devices asking through it. Replica A killed with SIGKILL
 * mid-stream: the edge goes on with B within seconds, every device request is answered (or refused
 * explicitly) before its deadline, no QoS 1 request of the wire device is lost, and admin changes made
 * on B reach the edge. Redis, on a server of the test's own, killed and started again empty: the
 * replicas reconnect and resume, and the desired state reaches the edge again from PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { connectMqtt, eventually } from '@fogline/cloud/testing';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../../cloud/src/store/scratch-database.ts';
import { startOwnRedis } from '../support/own-redis.ts';
import { adminCall, type CloudSystem, startCloudSystem } from './cloud-system.ts';
import { faultRun, load, progress, report, SLACK_MS, sdkDevices, WIRE } from './fault-run.ts';
import { RequestLedger } from './request-ledger.ts';
import { connectWireDevice, type WireDevice } from './wire-device.ts';

const run = faultRun();
const MACHINE_REDIS = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Two replicas on a scratch database and `redisUrl` (keys under a prefix of this run), with load. */
async function replicasUnderLoad(edgeId: string, redisUrl: string) {
  const database = await createScratchDatabase();
  run.later(() => database.drop());
  const prefix = `fogline-faults-${randomBytes(6).toString('hex')}:`;
  run.later(async () => {
    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  const system = await startCloudSystem(run, edgeId, {
    replicas: 2,
    env: { DATABASE_URL: database.url },
    cloudArgs: ['--redis-url', redisUrl, '--redis-key-prefix', prefix, '--replica-heartbeat-ms', '500'],
  });
  const devices = await sdkDevices(run, system.edgeBroker, edgeId, system.tokens);
  const wire = await connectWireDevice(system.edgeBroker, WIRE.id, system.tokens.get(WIRE.id)!, edgeId);
  run.later(() => wire.close());
  const ledger = new RequestLedger(2000, SLACK_MS);
  const running = load(devices, wire, ledger);
  await cloudAnswers(wire, 10, 60_000);
  return { system, wire, ledger, running };
}

/**
 * Waits for `n` cloud answers from now on, to the wire device (it always asks the edge, whatever
 * device policy the edge publishes; the SDK devices follow that policy); the ms it took.
 */
async function cloudAnswers(wire: WireDevice, n: number, timeoutMs: number): Promise<number> {
  const from = wire.tiers.length;
  const started = performance.now();
  await eventually(() => wire.tiers.slice(from).filter((t) => t === 'cloud').length >= n, timeoutMs);
  return Math.round(performance.now() - started);
}

/** A device enrolled now on `replica` gets into the edge: its desired state reached the edge. */
async function enrolmentReachesEdge(system: CloudSystem, replica: number, id: string): Promise<number> {
  const { token } = await system.adminOf(replica).createDevice(id, system.edgeId);
  const started = performance.now();
  await eventually(async () => {
    const outcome = await connectMqtt(system.edgeBroker, id, token);
    if (outcome.ok) await outcome.client.endAsync();
    return outcome.ok;
  }, 60_000);
  return Math.round(performance.now() - started);
}

/** Every wire request answered: none lost, none twice. */
function allAnswered(wire: WireDevice) {
  expect(wire.replies).toBe(wire.sent);
}

describe('faults: a cloud of two replicas', { timeout: 300_000 }, () => {
  it('replica A killed with SIGKILL mid-stream: the edge goes on with B, admin changes on B reach it', async () => {
    const { system, wire, ledger, running } = await replicasUnderLoad('edge-replicas', MACHINE_REDIS);
    // A device outside the load, to revoke on B.
    const doomed = await system.admin.createDevice('dev-doomed', system.edgeId);
    const doomedLink = await connectWireDevice(system.edgeBroker, 'dev-doomed', doomed.token, system.edgeId);
    run.later(() => doomedLink.close());
    progress('killing replica A');
    await system.clouds[0]!.stop('SIGKILL');
    const toB = await cloudAnswers(wire, 10, 30_000);
    const b = system.adminOf(1);
    await b.revokeDevice('dev-doomed');
    await eventually(() => !doomedLink.client.connected, 30_000);
    const refused = await connectMqtt(system.edgeBroker, 'dev-doomed', doomed.token);
    if (refused.ok) await refused.client.endAsync();
    const created = await b.createEdge('edge-created-on-b');
    const enrolled = await enrolmentReachesEdge(system, 1, 'dev-after-kill');
    await running.stop();
    console.log(
      `faults replica A kill -9: cloud answering again (10 answers, through B) ${toB} ms after the kill; ` +
        `device revoked on B disconnected and refused: ${!refused.ok}; edge created on B: ${created.id}; ` +
        `device enrolled on B admitted by the edge after ${enrolled} ms`,
    );
    report('replica A kill -9', ledger, wire);
    allAnswered(wire);
    expect(refused.ok).toBe(false);
  });

  it('Redis killed and started again empty: the replicas resume, the edge is served and gets its desired state', async () => {
    const redis = await startOwnRedis();
    run.later(() => redis.kill());
    const { system, wire, ledger, running } = await replicasUnderLoad('edge-redis', redis.url);
    progress('killing Redis');
    await redis.kill();
    const outageFrom = running.tiers.length;
    const outageStarted = performance.now();
    await eventually(() => running.tiers.length >= outageFrom + 40, 60_000);
    const duringOutage = tally(running.tiers.slice(outageFrom));
    // An enrolment during the outage (on B): stored in PostgreSQL; its desired state needs the broker.
    const { url, adminToken } = system.adminTarget;
    const urlB = system.clouds[1]!.ready.http!.url;
    const listing = await adminCall(urlB, adminToken, '/api/edges');
    const enrolment = await adminCall(urlB, adminToken, '/api/devices', {
      id: 'dev-in-outage',
      edge: system.edgeId,
    });
    const outageMs = Math.round(performance.now() - outageStarted);
    await redis.restart();
    progress('Redis back, empty');
    const restartedAt = running.tiers.length;
    const back = await cloudAnswers(wire, 10, 60_000).catch((err: unknown) => {
      progress(`since Redis came back: ${JSON.stringify(tally(running.tiers.slice(restartedAt)))}`);
      for (const c of system.clouds) progress(`replica stderr: ${c.stderr().slice(-1500)}`);
      throw err;
    });
    const token =
      enrolment.status === 201 ? (JSON.parse(enrolment.text) as { token: string }).token : undefined;
    const inOutageAdmitted =
      token !== undefined && (await admittedWithin(system.edgeBroker, 'dev-in-outage', token, 60_000));
    const afterList = await adminCall(url, adminToken, '/api/edges');
    const enrolled = await enrolmentReachesEdge(system, 0, 'dev-after-redis');
    await running.stop();
    console.log(
      `faults Redis killed ${outageMs} ms, restarted empty: answers during the outage ${JSON.stringify(duringOutage)}; ` +
        `admin on B during the outage: list ${listing.status} in ${listing.ms} ms, enrolment ${enrolment.status} ` +
        `in ${enrolment.ms} ms (${enrolment.text.slice(0, 120)}); after: list ${afterList.status}; ` +
        `10 cloud answers ${back} ms after the restart; device enrolled during the outage admitted: ` +
        `${inOutageAdmitted}; device enrolled after admitted after ${enrolled} ms; replicas alive: ` +
        `${system.clouds.map((c) => c.child.exitCode === null)}`,
    );
    report('Redis restarted', ledger, wire);
    allAnswered(wire);
    expect(system.clouds.every((c) => c.child.exitCode === null)).toBe(true);
    // The enrolment answered 201 during the outage; its desired state is published again once Redis is back.
    expect(enrolment.status).toBe(201);
    expect(inOutageAdmitted).toBe(true);
  });
});

function tally(tiers: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const t of tiers) counts[t] = (counts[t] ?? 0) + 1;
  return counts;
}

async function admittedWithin(
  broker: string,
  id: string,
  token: string,
  timeoutMs: number,
): Promise<boolean> {
  try {
    await eventually(async () => {
      const outcome = await connectMqtt(broker, id, token);
      if (outcome.ok) await outcome.client.endAsync();
      return outcome.ok;
    }, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

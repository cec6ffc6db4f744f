/**
 * F7's controller and F8's deployments on a cloud of two replicas (docs/scale-out.md "Shared state"):
 * two `fogline cloud` processes on one PostgreSQL database (a scratch one), one Redis (the machine's,
 * keys under a prefix of this run) and one data dir, and a `fogline edge` process given replica A
 * only. A deployment started through replica B's admin API reaches the edge on A, and its progress
 * (which A records from the edge's reports) reads the same from both; a device enrolled on B gets into
 * the edge, and the edge's state is on B. The controller runs on one replica at a time (its lease in
 * PostgreSQL), and the other takes over once the leader dies (SIGKILL: the lease is not released but
 * expires).
 */
import { randomBytes } from 'node:crypto';
import type { CloudAdminClient, DeploymentView } from '@fogline/cloud';
import { connectMqtt, eventually, pushCommittedModel } from '@fogline/cloud/testing';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase } from '../cloud/src/store/scratch-database.ts';
import { type CloudSystem, startCloudSystem } from './faults/cloud-system.ts';
import { faultRun } from './faults/fault-run.ts';

const run = faultRun();
const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PREFIX = `fogline-test-${randomBytes(6).toString('hex')}:`;
const INTERVAL_MS = 1_000;
/** The controller's lease: 3 intervals (controller-service.ts). */
const LEASE_MS = 3 * INTERVAL_MS;
const EDGE = 'edge-on-a';
const MODEL = 'digits-mid-int8'; // what `fogline edge` serves by default

let system: CloudSystem;
let admins: [CloudAdminClient, CloudAdminClient];

beforeAll(async () => {
  const database = await createScratchDatabase();
  run.later(() => database.drop());
  run.later(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  system = await startCloudSystem(run, EDGE, {
    replicas: 2,
    env: { DATABASE_URL: database.url },
    edgeOn: [0],
    cloudArgs: [
      ...['--redis-url', REDIS_URL, '--redis-key-prefix', PREFIX, '--replica-heartbeat-ms', '500'],
      ...['--controller', 'on', '--controller-interval-ms', String(INTERVAL_MS)],
    ],
  });
  admins = [system.adminOf(0), system.adminOf(1)];
}, 120_000);

describe('F7 and F8 on two cloud replicas', () => {
  it("a deployment started on B reaches the edge on A; both show its progress, and B sees the edge's state", async () => {
    const [a, b] = admins;
    // The edge (on A) is online and reporting, as seen from B.
    await eventually(async () => {
      const edge = await b.getEdge(EDGE);
      return edge.online && edge.reported !== null;
    }, 20_000);
    // An admin change on B reaches the edge on A: a device enrolled there is admitted.
    const { token } = await b.createDevice('dev-enrolled-on-b', EDGE);
    await eventually(async () => {
      const outcome = await connectMqtt(system.edgeBroker, 'dev-enrolled-on-b', token);
      if (outcome.ok) await outcome.client.endAsync();
      return outcome.ok;
    }, 20_000);

    await pushCommittedModel(b, MODEL, MODEL, 2);
    // The edge is the canary: once active it stays so for 2 s before the deployment is done, a
    // window in which both replicas must show it active.
    const started = await b.deploy({
      model: MODEL,
      version: 2,
      edges: [EDGE],
      canary: 1,
      canaryHealthyMs: 2_000,
    });
    const seen: string[][] = [[], []];
    const views: DeploymentView[] = [];
    await eventually(async () => {
      const both = await Promise.all(admins.map((admin) => admin.deployment(started.id)));
      both.forEach((view, i) => {
        const state = `${view.state}/${view.edges?.[0]?.state}`;
        if (seen[i]!.at(-1) !== state) seen[i]!.push(state);
      });
      views.splice(0, 2, ...both);
      return both.every((v) => v.state === 'done');
    }, 45_000);
    expect(views[0]).toEqual(views[1]);
    expect(views[0]!.edges).toMatchObject([
      { edge: EDGE, state: 'active', previous: { model: MODEL, version: 1 } },
    ]);
    expect(views[0]!.edges![0]!.receivedBytes).toBe(views[0]!.edges![0]!.totalBytes);
    // The edge reports serving v2, through A, to B too.
    await eventually(async () => (await b.getEdge(EDGE)).reported?.models?.[MODEL] === 2, 15_000);
    // Both replicas showed it on its way: the canary active (for its healthy time), then done.
    for (const states of seen) {
      expect(states).toContain('canary/active');
      expect(states.indexOf('canary/active')).toBeLessThan(states.indexOf('done/active'));
    }
    expect((await a.deployments(MODEL)).map((d) => d.id)).toEqual([started.id]);
  }, 60_000);

  it('runs the controller on one replica at a time; the other takes it once the leader dies', async () => {
    const leaders = async () =>
      Promise.all(admins.map(async (admin) => (await admin.field()).controller_leader));
    await eventually(async () => (await leaders()).includes(true), 15_000);
    // For a few lease lengths, never both.
    const samples: boolean[][] = [];
    for (const until = Date.now() + 2 * LEASE_MS; Date.now() < until; ) {
      samples.push(await leaders());
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(samples.filter((s) => s[0] && s[1])).toEqual([]);
    const leader = samples.at(-1)!.indexOf(true);
    expect(leader).toBeGreaterThanOrEqual(0);
    const other = 1 - leader;
    expect(samples.every((s) => s[leader] && !s[other])).toBe(true);

    const killedAt = Date.now();
    await system.clouds[leader]!.stop('SIGKILL');
    await eventually(async () => (await admins[other]!.field()).controller_leader, LEASE_MS + 10_000);
    const takeoverMs = Date.now() - killedAt;
    console.log(
      `controller lease ${LEASE_MS} ms: replica ${other} took over ${takeoverMs} ms after the kill`,
    );
    // Not before the dead leader's lease ran out (it was renewed at most one interval before the
    // kill), and within a lease and an interval after it (slack for a loaded machine).
    expect(takeoverMs).toBeGreaterThanOrEqual(LEASE_MS - INTERVAL_MS - 250);
    expect(takeoverMs).toBeLessThan(LEASE_MS + INTERVAL_MS + 3_000);
  }, 60_000);
});

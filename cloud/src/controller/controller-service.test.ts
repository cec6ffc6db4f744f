/**
 * The controller service on a real PGlite store, with a ManualClock and fixed audit records: the
 * edges' telemetry (what the edge reports: routing, baseline, drift) is given as presence views.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '@fogline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentService } from '../deployments/deployment-service.ts';
import type { EdgePresenceView } from '../fabric/edge-presence.ts';
import type { RoutingSummary } from '../fabric/telemetry-summary.ts';
import { type NewAuditRecord, openStore, type Store } from '../store/index.ts';
import { ControllerService, type ControllerSettings } from './controller-service.ts';

let dir = '';
let store: Store;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-controller-'));
  store = await openStore({ dataDir: dir });
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const policy = {
  device: { score: 'margin', threshold: 0.3 },
  edge: { score: 'margin', threshold: 0.4 },
} as const;
const baseline = { disagreement: 0.003, edgeAgreement: 0.97, cloudAccuracy: 0.99 };

/** What an edge's telemetry says; mutable so a test can move the edge on. */
interface EdgeTelemetry {
  routing: RoutingSummary;
  alarm: boolean;
  alarms: number;
  /** When the alarm went on, as the edge reports it (ms). */
  sinceMs?: number;
}

function telemetryOf(t: EdgeTelemetry): EdgePresenceView {
  return {
    online: true,
    status: 'online',
    statusAt: null,
    lastSeenAt: null,
    reported: null,
    telemetry: {
      receivedAt: new Date().toISOString(),
      routing: t.routing,
      drift: {
        model: 'digits-tiny:1',
        alarm: t.alarm,
        psi: t.alarm ? 4 : 0.01,
        windows: 3,
        alarms: t.alarms,
        ...(t.sinceMs !== undefined && { since: new Date(t.sinceMs).toISOString() }),
      },
    },
  };
}

let edgeCounter = 0;
async function edge(): Promise<{ id: string; t: EdgeTelemetry }> {
  const id = `edge-c${++edgeCounter}`;
  await store.edges.create(id);
  return { id, t: { routing: { ...policy, pinned: false, baseline }, alarm: false, alarms: 0 } };
}

/** A record whose device, edge and cloud answers are given (cloud = the reference). */
function audit(
  edgeId: string,
  answers: [number, number, number],
  scores: [number, number],
  tier = 'device',
): NewAuditRecord {
  const answer = (label: number, score: number) => ({ model: 'm:1', outputs: [0, 1], score, label });
  return {
    source: 'audit',
    edgeId,
    deviceId: 'dev-1',
    requestId: `r-${Math.random().toString(36).slice(2)}`,
    answeredAt: new Date(),
    rate: 0.5,
    answerTier: tier as NewAuditRecord['answerTier'],
    device: answer(answers[0], scores[0]),
    edge: answer(answers[1], scores[1]),
    cloud: answer(answers[2], 0.99),
    input: null,
    inputExpiresAt: null,
  };
}

/** 40 records after an alarm: scores spread evenly over [0, 1], every tier agreeing with the reference. */
const sinceAlarm = (edgeId: string) =>
  Array.from({ length: 40 }, (_, i) => audit(edgeId, [1, 1, 1], [(i + 0.5) / 40, (i + 0.5) / 40]));

function service(
  edges: Map<string, EdgeTelemetry>,
  over: Partial<ControllerSettings> = {},
  holder = 'replica-a',
  clock = new ManualClock(1_000_000),
  rolloutHolds?: (edgeId: string) => Promise<boolean>,
) {
  const published: string[] = [];
  const lines: string[] = [];
  const s = new ControllerService({
    store,
    presence: (id) => {
      const t = edges.get(id);
      return t ? telemetryOf(t) : { ...telemetryOf(edges.values().next().value!), telemetry: null };
    },
    publish: async (id) => published.push(id),
    settings: {
      enabled: true,
      intervalMs: 300,
      cloudBudget: 0.25,
      window: { maxRecords: 1_000, maxAgeMs: 60_000 },
      knobs: { minRecords: 20 },
      ...over,
    },
    holder,
    clock,
    log: (line) => lines.push(line),
    ...(rolloutHolds && { rolloutHolds }),
  });
  return { s, published, lines, clock };
}

describe('ControllerService', () => {
  it('goes conservative on a drift alarm, records the change, publishes it, and holds until the edge applies it', async () => {
    const e = await edge();
    const { s, published, lines } = service(new Map([[e.id, e.t]]));
    await s.tick();
    expect(s.control(e.id).decision?.action).toBe('hold');
    expect(published).toEqual([]);

    e.t.alarm = true;
    e.t.alarms = 1;
    await s.tick();
    // The window restarted: the fallback waits for records since the alarm to place it on.
    expect(s.control(e.id).decision?.why).toMatch(/waiting for 40 records/);
    expect(published).toEqual([]);
    await store.auditRecords.insert(sinceAlarm(e.id));
    await s.tick();
    expect(s.control(e.id).decision?.action).toBe('conservative');
    expect(published).toEqual([e.id]);
    const row = await store.edgePolicies.get(e.id);
    expect(row?.conservative).toBe(true);
    // From the records' score quantiles: the device keeps its surer half, the cloud gets 17.5 % (70 % of 0.25).
    expect(row?.directive?.device.threshold).toBeCloseTo(20.5 / 40);
    expect(row?.directive?.edge.threshold).toBeCloseTo(7.5 / 40);
    const [change] = await store.edgePolicies.changes(e.id);
    expect(change).toMatchObject({ source: 'controller', action: 'conservative', from: policy });
    expect(lines.some((l) => l.includes('conservative'))).toBe(true);

    await s.tick();
    expect(s.control(e.id).decision?.why).toMatch(/waiting for the edge to apply ctl-/);
    e.t.routing = { ...row!.directive!, pinned: false, baseline, directive: row!.directive!.id };
    await s.tick();
    expect(s.control(e.id).decision?.action).toBe('hold');
    expect(published).toHaveLength(1);
    expect(await store.edgePolicies.changes(e.id)).toHaveLength(1);
    await s.stop();
  });

  it('changes nothing for a pinned edge, whether pinned by an operator or on the edge', async () => {
    const a = await edge();
    const b = await edge();
    b.t.routing = { ...b.t.routing, pinned: true };
    for (const x of [a, b]) {
      x.t.alarm = true;
      x.t.alarms = 1;
    }
    await store.edgePolicies.change(
      a.id,
      { source: 'operator', action: 'pin', from: null, to: policy, why: 'test', figures: null },
      { directive: { id: 'op-1', reason: 'test', ...policy }, pinned: true },
    );
    a.t.routing = { ...a.t.routing, directive: 'op-1' };
    const { s, published } = service(
      new Map([
        [a.id, a.t],
        [b.id, b.t],
      ]),
    );
    await s.tick();
    expect(published).toEqual([]);
    expect(s.control(a.id).decision?.why).toMatch(/pinned/);
    expect(s.control(b.id).decision?.why).toMatch(/pinned/);
    await s.stop();
  });

  it('holds the policy of an edge while its model deployment runs, and acts again once it is done', async () => {
    const e = await edge();
    e.t.alarm = true;
    e.t.alarms = 1;
    await store.modelVersions.upsert({
      model: 'ctl-mid',
      version: 2,
      tier: 'edge',
      sha256: 'c'.repeat(64),
      bytes: 10,
      status: 'staged',
    });
    const deployments = new DeploymentService({ store, publish: async () => {}, log: () => {} });
    const d = await deployments.create({
      model: 'ctl-mid',
      version: 2,
      edges: [e.id],
      canary: 0.1,
      canaryHealthyMs: 60_000,
      gate: null,
      device: null,
    });
    const { s, published } = service(new Map([[e.id, e.t]]), {}, 'replica-a', undefined, (id) =>
      deployments.holds(id),
    );
    await s.tick();
    await store.auditRecords.insert(sinceAlarm(e.id));
    await s.tick();
    expect(s.control(e.id).decision).toMatchObject({ action: 'hold', why: expect.stringMatching(/canary/) });
    expect(published).toEqual([]);
    await store.deployments.setState(d.deployment.id, 'done', null);
    await s.tick();
    expect(s.control(e.id).decision?.action).toBe('conservative');
    expect(published).toEqual([e.id]);
    await s.stop();
  });

  it('keeps one window per edge from the stored audits, figures weighted, and restarts it on a new alarm', async () => {
    const e = await edge();
    const { s } = service(new Map([[e.id, e.t]]), { enabled: false });
    await s.tick(); // first read: nothing yet
    const records = [
      ...Array.from({ length: 6 }, () => audit(e.id, [1, 1, 1], [0.9, 0.9], 'device')),
      ...Array.from({ length: 2 }, () => audit(e.id, [2, 1, 1], [0.2, 0.9], 'edge')),
      ...Array.from({ length: 2 }, () => audit(e.id, [3, 3, 1], [0.1, 0.1], 'cloud')),
    ];
    await store.auditRecords.insert([...records, { ...audit(e.id, [1, 1, 1], [1, 1]), edge: null }]);
    await s.tick();
    const f = s.field(e.id);
    expect(f.records).toBe(10);
    expect(f.auditRate).toBeCloseTo(0.5);
    expect(f.tiers.device.agreement.estimate).toBeCloseTo(0.6);
    expect(f.tiers.edge.agreement.estimate).toBeCloseTo(0.8);
    expect(f.tiers.cloud.agreement.estimate).toBe(1);
    expect(f.tiers.device.agreement.high).toBeLessThan(1);
    expect([f.tiers.device.share, f.tiers.edge.share, f.tiers.cloud.share]).toEqual([0.6, 0.2, 0.2]);
    expect(s.control(e.id).decision).toBeUndefined(); // controller off: no decisions

    e.t.alarms = 1;
    await s.tick();
    expect(s.field(e.id).records).toBe(0);
    await s.stop();
  });

  it('restarts the window from when the edge raised the alarm: records of requests answered before it stay out, also late ones', async () => {
    const e = await edge();
    const { s } = service(new Map([[e.id, e.t]]), { enabled: false });
    await s.tick();
    const alarmAt = Date.now() - 60_000;
    const at = (ms: number) => ({ answeredAt: new Date(ms) });
    const before = () => ({ ...audit(e.id, [1, 1, 1], [0.9, 0.9]), ...at(alarmAt - 5_000) });
    const after = () => ({ ...audit(e.id, [2, 2, 1], [0.2, 0.2]), ...at(alarmAt + 5_000) });
    await store.auditRecords.insert([before(), before(), after()]);
    await s.tick();
    expect(s.field(e.id).records).toBe(3);

    e.t.alarms = 1;
    e.t.alarm = true;
    e.t.sinceMs = alarmAt;
    await s.tick(); // the cloud notices the alarm a minute after it went on
    expect(s.field(e.id).records).toBe(1); // the record answered since the alarm stays
    // Uploads arrive late: a record answered before the alarm, stored after the restart, stays out.
    await store.auditRecords.insert([before(), after()]);
    await s.tick();
    const f = s.field(e.id);
    expect(f.records).toBe(2);
    expect(f.tiers.device.agreement.estimate).toBe(0); // only the shifted records, which the device got wrong
    await s.stop();
  });

  it('restarts the window from the alarm when the first telemetry it sees of an edge is already in one', async () => {
    const e = await edge();
    e.t.sinceMs = Date.now() - 60_000;
    e.t.alarm = true;
    e.t.alarms = 1;
    const { s } = service(new Map([[e.id, e.t]]), { enabled: false });
    const at = (ms: number) => ({ answeredAt: new Date(ms) });
    await store.auditRecords.insert([
      { ...audit(e.id, [1, 1, 1], [0.9, 0.9]), ...at(e.t.sinceMs - 5_000) },
      { ...audit(e.id, [2, 2, 1], [0.2, 0.2]), ...at(e.t.sinceMs + 5_000) },
    ]);
    await s.tick();
    expect(s.field(e.id).records).toBe(1);
    await s.stop();
  });

  it('runs a round every intervalMs, and every alarmIntervalMs while an edge is in a drift alarm', async () => {
    const e = await edge();
    let rounds = 0;
    const counting = {
      ...store,
      edges: {
        ...store.edges,
        list: () => {
          rounds++;
          return store.edges.list();
        },
      },
    } as Store;
    const s = new ControllerService({
      store: counting,
      presence: (id) => telemetryOf(id === e.id ? e.t : { ...e.t, alarm: false }),
      publish: async () => {},
      settings: {
        enabled: false,
        intervalMs: 5_000,
        alarmIntervalMs: 100,
        cloudBudget: 0.25,
        window: { maxRecords: 10, maxAgeMs: 60_000 },
      },
      holder: 'replica-cadence',
      clock: new ManualClock(1_000_000),
      log: () => {},
    });
    s.start();
    await expect.poll(() => rounds, { timeout: 2_000 }).toBe(1); // the first round, at once
    await new Promise((r) => setTimeout(r, 800));
    expect(rounds).toBe(1); // calm: the next one is 5 s away
    e.t.alarm = true;
    await new Promise((r) => setTimeout(r, 800));
    expect(rounds).toBeGreaterThanOrEqual(4); // in the alarm: about every 100 ms
    await s.stop();
  });

  it("decides on an alarmed edge's records as soon as they are stored, not at its next round; a calm edge waits", async () => {
    const alarmed = await edge();
    const calm = await edge();
    alarmed.t.alarm = true;
    alarmed.t.alarms = 1;
    const edges = new Map([
      [alarmed.id, alarmed.t],
      [calm.id, calm.t],
    ]);
    const { s, published } = service(edges, { intervalMs: 60_000, alarmIntervalMs: 60_000 });
    s.start();
    await s.tick();
    expect(s.control(alarmed.id).decision?.why).toMatch(/waiting for 40 records/);
    await store.auditRecords.insert([...sinceAlarm(alarmed.id), ...sinceAlarm(calm.id)]);
    s.nudge(calm.id);
    s.nudge(alarmed.id);
    await expect.poll(() => s.control(alarmed.id).decision?.action, { timeout: 2_000 }).toBe('conservative');
    expect(published).toEqual([alarmed.id]);
    // The calm edge's records wait for the next round (a minute away): its decision is the tick's.
    expect(s.control(calm.id).decision?.figures.records).toBe(0);
    // Once the edge applied it: a nudge decides again only on 10 % more records (44 of 40), not on each upload.
    const row = await store.edgePolicies.get(alarmed.id);
    alarmed.t.routing = { ...row!.directive!, pinned: false, baseline, directive: row!.directive!.id };
    const placed = s.control(alarmed.id).decision;
    await store.auditRecords.insert(sinceAlarm(alarmed.id).slice(0, 3));
    s.nudge(alarmed.id);
    await new Promise((r) => setTimeout(r, 300));
    expect(s.control(alarmed.id).decision).toBe(placed);
    await store.auditRecords.insert(sinceAlarm(alarmed.id).slice(0, 1));
    s.nudge(alarmed.id);
    await expect.poll(() => s.control(alarmed.id).decision?.figures.records, { timeout: 2_000 }).toBe(44);
    await s.stop();
  });

  it('runs on one replica at a time: a second instance on the same store decides nothing until the lease is free', async () => {
    const e = await edge();
    e.t.alarm = true;
    e.t.alarms = 1;
    const edges = new Map([[e.id, e.t]]);
    const a = service(edges, {}, 'replica-a2');
    const b = service(edges, {}, 'replica-b2');
    await a.s.tick(); // the alarm restarts the window
    await store.auditRecords.insert(sinceAlarm(e.id));
    await a.s.tick();
    await b.s.tick();
    expect([a.s.leader, b.s.leader]).toEqual([true, false]);
    expect(a.published).toEqual([e.id]);
    expect(b.published).toEqual([]);
    expect(b.s.control(e.id).decision).toBeUndefined();
    await a.s.stop();
    await b.s.tick();
    expect(b.s.leader).toBe(true);
    await b.s.stop();
  });

  it('reports a weak reference (edge–cloud agreement collapsed) and changes nothing', async () => {
    const e = await edge();
    const { s, published, lines } = service(new Map([[e.id, e.t]]));
    await s.tick();
    await store.auditRecords.insert(
      Array.from({ length: 60 }, (_, i) => audit(e.id, [i % 10, (i + 1) % 10, (i + 2) % 10], [0.5, 0.5])),
    );
    await s.tick();
    expect(s.control(e.id).decision?.action).toBe('report-weak-reference');
    expect(s.control(e.id).weakReference).toMatch(/edge–cloud agreement/);
    expect(lines.filter((l) => l.includes('reference weak on this traffic'))).toHaveLength(1);
    await s.tick();
    expect(lines.filter((l) => l.includes('reference weak on this traffic'))).toHaveLength(1);
    expect(published).toEqual([]);
    expect(await store.edgePolicies.changes(e.id)).toEqual([]);
    expect((await store.edgePolicies.get(e.id))?.lastDecision?.action).toBe('report-weak-reference');
    await s.stop();
  });

  it('holds, saying why, an edge that reports no calibration baseline', async () => {
    const e = await edge();
    e.t.routing = { ...policy, pinned: false };
    e.t.alarm = true;
    e.t.alarms = 1;
    const { s, published } = service(new Map([[e.id, e.t]]));
    await s.tick();
    expect(s.control(e.id).decision).toMatchObject({
      action: 'hold',
      why: expect.stringMatching(/no calibration baseline/),
    });
    expect(published).toEqual([]);
    expect((await store.edgePolicies.get(e.id))?.lastDecision?.why).toMatch(/fogline calibrate/);
    await s.stop();
  });
});

/**
 * The controller service on a real PGlite store, with a ManualClock and fixed audit records
 * (controller-service.fixture.ts): the edges' telemetry (what the edge reports: routing, baseline,
 * drift) is given as presence views. When it decides: controller-service.rounds.test.ts.
 */
import type { RoutingDirective } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { DeploymentService } from '../deployments/deployment-service.ts';
import { audit, baseline, edge, policy, service, sinceAlarm, store } from './controller-service.fixture.ts';

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

  it('replaces a stored directive that no longer reads on an unpinned edge, saying so once; a pinned one stays', async () => {
    const [a, b] = [await edge(), await edge()];
    // Written by another version (or by hand): a score kind no reader knows. It counts as none.
    const junk = { id: 'old-1', reason: 'test', device: { score: 'nope', threshold: 2 } };
    const old = {
      source: 'operator',
      action: 'set',
      from: null,
      to: null,
      why: 'test',
      figures: null,
    } as const;
    await store.edgePolicies.change(a.id, old, { directive: junk as unknown as RoutingDirective });
    await store.edgePolicies.change(b.id, old, {
      directive: junk as unknown as RoutingDirective,
      pinned: true,
    });
    for (const x of [a, b]) {
      x.t.alarm = true;
      x.t.alarms = 1;
    }
    const telemetry = new Map([
      [a.id, a.t],
      [b.id, b.t],
    ]);
    const { s, published, lines } = service(telemetry);
    await s.tick();
    await store.auditRecords.insert([...sinceAlarm(a.id), ...sinceAlarm(b.id)]);
    await s.tick();
    expect(s.control(a.id).decision?.action).toBe('conservative');
    expect(published).toEqual([a.id]);
    expect((await store.edgePolicies.get(a.id))?.directive?.id).toMatch(/^ctl-/);
    expect(lines.filter((l) => l.includes('does not read'))).toEqual([
      `controller: edge '${a.id}': its stored directive does not read; counted as none`,
    ]);
    // Pinned: the operator's, readable or not; the controller stays off.
    expect(s.control(b.id).decision?.why).toMatch(/pinned/);
    expect(await store.edgePolicies.get(b.id)).toMatchObject({ directiveUnreadable: true, pinned: true });
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
      canaryTimeoutMs: 600_000,
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

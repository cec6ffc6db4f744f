/**
 * When the controller service decides (controller-service.fixture.ts: a real PGlite store, a
 * ManualClock, fixed audit records): its rounds, the early round for an alarmed edge's new records,
 * and one replica at a time.
 */
import { ManualClock } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import type { Store } from '../store/index.ts';
import { baseline, edge, service, sinceAlarm, store, telemetryOf } from './controller-service.fixture.ts';
import { ControllerService } from './controller-service.ts';

describe('ControllerService rounds', () => {
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
});

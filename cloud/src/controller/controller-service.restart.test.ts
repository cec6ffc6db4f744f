/**
 * The controller across a cloud restart (controller-service.fixture.ts: real PGlite store): the
 * field-record windows are rebuilt from the stored audit records, also when the first round runs
 * before the edges have sent their telemetry again.
 */
import { describe, expect, it } from 'vitest';
import { audit, type EdgeTelemetry, edge, service, sinceAlarm, store } from './controller-service.fixture.ts';

describe('ControllerService after a restart', () => {
  it("keeps an edge's stored records when its first round runs before the edge's telemetry", async () => {
    const e = await edge();
    await store.auditRecords.insert(
      Array.from({ length: 30 }, (_, i) => audit(e.id, [1, 1, 1], [(i + 0.5) / 30, 0.9])),
    );
    // The restarted cloud: no telemetry from the edge yet (it reconnects a moment later).
    const edges = new Map<string, EdgeTelemetry>([['edge-other', (await edge()).t]]);
    const { s } = service(edges);
    await s.tick();
    expect(s.field(e.id).records).toBe(0);

    edges.set(e.id, e.t);
    await s.tick();
    expect(s.field(e.id).records).toBe(30);
    expect(s.windows.records(e.id)).toHaveLength(30);
    await s.stop();
  });
});

describe('ControllerService and an operator pin', () => {
  it("never overwrites an operator's pin that lands while it decides", async () => {
    const e = await edge();
    e.t.alarm = true;
    e.t.alarms = 1;
    const pin = {
      device: { score: 'margin', threshold: 0.11 },
      edge: { score: 'margin', threshold: 0.22 },
    } as const;
    let pinNow = false;
    // The operator's PUT .../policy lands between the controller's read of the edge's row and its write.
    const { s, published } = service(new Map([[e.id, e.t]]), {}, 'replica-a', undefined, async (id) => {
      if (pinNow) {
        pinNow = false;
        await store.edgePolicies.change(
          id,
          { source: 'operator', action: 'pin', from: null, to: pin, why: 'operator', figures: null },
          { directive: { id: 'op-race', reason: 'operator', ...pin }, pinned: true, conservative: false },
        );
      }
      return false;
    });
    await s.tick();
    await store.auditRecords.insert(
      Array.from({ length: 40 }, (_, i) => audit(e.id, [1, 1, 1], [(i + 0.5) / 40, (i + 0.5) / 40])),
    );
    pinNow = true;
    await s.tick();
    const row = await store.edgePolicies.get(e.id);
    expect(row?.pinned).toBe(true);
    expect(row?.directive).toMatchObject({ id: 'op-race', ...pin });
    expect(published).toEqual([]);
    expect((await store.edgePolicies.changes(e.id)).map((c) => c.source)).toEqual(['operator']);
    await s.stop();
  });

  it('never overwrites a pin that commits after its last read of the row, just before its write', async () => {
    const e = await edge();
    e.t.alarm = true;
    e.t.alarms = 1;
    const pin = {
      device: { score: 'margin', threshold: 0.12 },
      edge: { score: 'margin', threshold: 0.23 },
    } as const;
    const { s, published } = service(new Map([[e.id, e.t]]));
    await s.tick();
    await store.auditRecords.insert(sinceAlarm(e.id));
    // The operator's PUT .../policy commits in the last gap there is: after every read the controller
    // makes, as its write reaches the store.
    const repo = store.edgePolicies;
    const write = repo.change.bind(repo);
    repo.change = async (id, change, update, onlyIf) => {
      if (change.source === 'controller') {
        const op = {
          source: 'operator',
          action: 'pin',
          from: null,
          to: pin,
          why: 'operator',
          figures: null,
        } as const;
        await write(id, op, { directive: { id: 'op-late', reason: 'operator', ...pin }, pinned: true });
      }
      return write(id, change, update, onlyIf);
    };
    try {
      await s.tick();
    } finally {
      repo.change = write;
    }
    const row = await store.edgePolicies.get(e.id);
    expect(row).toMatchObject({ pinned: true, directive: { id: 'op-late', ...pin } });
    expect(published).toEqual([]);
    expect((await store.edgePolicies.changes(e.id)).map((c) => c.source)).toEqual(['operator']);
    expect(s.control(e.id).decision).toMatchObject({
      action: 'hold',
      why: /changed while the controller decided/,
    });
    await s.stop();
  });
});

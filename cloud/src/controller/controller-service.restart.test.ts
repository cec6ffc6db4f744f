/**
 * The controller across a cloud restart (controller-service.fixture.ts: real PGlite store): the
 * field-record windows are rebuilt from the stored audit records, also when the first round runs
 * before the edges have sent their telemetry again.
 */
import { describe, expect, it } from 'vitest';
import { audit, type EdgeTelemetry, edge, service, store } from './controller-service.fixture.ts';

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

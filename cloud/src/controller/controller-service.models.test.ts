/**
 * The controller when an edge's models change within its window (controller-service.fixture.ts: real
 * PGlite store): it decides on the records of the models the edge answers with now, never on scores
 * of a model version it no longer runs.
 */
import { describe, expect, it } from 'vitest';
import { audit, edge, service, store } from './controller-service.fixture.ts';

describe('ControllerService across a model change', () => {
  it('decides on the records of the newest device and edge models only', async () => {
    const e = await edge();
    const { s } = service(new Map([[e.id, e.t]]));
    await s.tick();
    const start = Date.now() - 30_000;
    const at = (ms: number) => new Date(start + ms);
    const old = Array.from({ length: 40 }, (_, i) => ({
      ...audit(e.id, [1, 1, 1], [(i + 0.5) / 40, 0.9]),
      answeredAt: at(i),
    }));
    const upgraded = (model: 'device' | 'edge', i: number) => {
      const r = audit(e.id, [1, 1, 1], [0.95, 0.95]);
      return { ...r, answeredAt: at(1_000 + i), [model]: { ...r[model], model: 'm:2' } };
    };
    await store.auditRecords.insert([...old, ...Array.from({ length: 5 }, (_, i) => upgraded('device', i))]);
    await s.tick();
    // The live view still counts every audit; the decision only the new device model's.
    expect(s.field(e.id).records).toBe(45);
    expect(s.control(e.id).decision?.figures.records).toBe(5);

    // A late record of the old model (answered before the upgrade) changes nothing; a new edge model does.
    await store.auditRecords.insert([{ ...audit(e.id, [1, 1, 1], [0.5, 0.5]), answeredAt: at(500) }]);
    await s.tick();
    expect(s.control(e.id).decision?.figures.records).toBe(5);
    const both = upgraded('edge', 10);
    await store.auditRecords.insert([{ ...both, device: { ...both.device, model: 'm:2' } }]);
    await s.tick();
    expect(s.control(e.id).decision?.figures.records).toBe(1);
    await s.stop();
  });
});

import { describe, expect, it } from 'vitest';
import { RoutingControl } from './routing-control.ts';

const initial = { score: 'maxprob', threshold: 0.9 } as const;

function control(now: () => number, historySize?: number) {
  const lines: string[] = [];
  const c = new RoutingControl({
    edgeId: 'edge-a',
    initial,
    now,
    logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
    ...(historySize !== undefined && { historySize }),
  });
  return { c, lines };
}

describe('RoutingControl', () => {
  it('versions device policies by the wall clock, always increasing, even when the clock stands still or steps back', () => {
    let t = 5_000;
    const { c } = control(() => t);
    const v = () =>
      c.prepareDevicePolicy({ score: 'margin', threshold: 0.3 }, { model: 'm:1' }).message.version;
    expect(v()).toBe(5_000);
    expect(v()).toBe(5_001);
    t = 1_000;
    expect(v()).toBe(5_002);
    t = 9_000;
    expect(v()).toBe(9_000);
  });

  it('applies a slower publish of an older version to the history, not as the current policy', () => {
    let t = 1;
    const { c } = control(() => t++);
    const a = c.prepareDevicePolicy({ score: 'margin', threshold: 0.3 }, { model: 'm:1' }).message;
    const b = c.prepareDevicePolicy({ score: 'margin', threshold: 0.4 }, { model: 'm:1' }).message;
    c.commitDevicePolicy(b);
    c.commitDevicePolicy(a);
    expect(c.devices).toEqual(b);
    expect(c.history()).toHaveLength(1);
  });

  it('publishes an audit rate alone as no routing change: logged, not in the history, no listener told', () => {
    const { c, lines } = control(() => 7);
    const told: unknown[] = [];
    c.listen((change) => told.push(change));
    const { message } = c.prepareDevicePolicy(undefined, { model: 'm:1', auditRate: 0.2 });
    expect(message).toEqual({ edge: 'edge-a', version: 7, model: 'm:1', audit_rate: 0.2 });
    c.commitDevicePolicy(message);
    expect(c.devices).toEqual(message);
    expect(c.history()).toEqual([]);
    expect(told).toEqual([]);
    expect(lines).toEqual(['routing: device audit rate for m:1 0.2 (v7), their own routing kept']);
    // Neither a policy nor a rate says nothing: refused before anything is published.
    expect(() => c.prepareDevicePolicy(undefined, { model: 'm:1' })).toThrow(/neither/);
  });

  it('keeps a bounded history, oldest dropped first, and changes nothing on an invalid policy', () => {
    const { c, lines } = control(() => 0, 3);
    for (const threshold of [0.1, 0.2, 0.3, 0.4]) c.setEdge({ score: 'margin', threshold });
    expect(() => c.setEdge({ score: 'margin', threshold: -1 })).toThrow(/threshold/);
    expect(c.edge).toEqual({ score: 'margin', threshold: 0.4 });
    expect(c.history().map((h) => h.to.threshold)).toEqual([0.2, 0.3, 0.4]);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('routing: edge policy maxprob >= 0.9 → margin >= 0.1');
  });

  it('settles an uncalibrated threshold like the start-up policy does', () => {
    const { c } = control(() => 0);
    expect(c.setEdge({ score: 'entropy', threshold: null })).toEqual({ score: 'entropy', threshold: 0.75 });
  });
});

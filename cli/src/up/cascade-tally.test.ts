import { describe, expect, it } from 'vitest';
import { CascadeTally, quantile } from './cascade-tally.ts';

describe('CascadeTally', () => {
  it('reports share, accuracy and latency per tier and the cloud calls saved', () => {
    const tally = new CascadeTally();
    for (let i = 0; i < 80; i++)
      tally.record({ tier: 'device', correct: i % 40 !== 0, degraded: false, latencyMs: 1 });
    for (let i = 0; i < 15; i++) tally.record({ tier: 'edge', correct: true, degraded: i < 3, latencyMs: 5 });
    for (let i = 0; i < 5; i++)
      tally.record({ tier: 'cloud', correct: i !== 0, degraded: false, latencyMs: 20 });
    tally.recordError();
    const s = tally.summary();
    expect(s.total).toBe(100);
    expect(s.errors).toBe(1);
    expect(s.accuracy).toBeCloseTo((78 + 15 + 4) / 100);
    expect(s.cloudCallsSaved).toBeCloseTo(0.95);
    const [device, edge, cloud] = s.tiers;
    expect(device).toMatchObject({ tier: 'device', count: 80, share: 0.8, accuracy: 78 / 80, p50Ms: 1 });
    expect(edge).toMatchObject({ tier: 'edge', degraded: 3, accuracy: 1, p99Ms: 5 });
    expect(cloud).toMatchObject({ tier: 'cloud', share: 0.05, accuracy: 0.8, p50Ms: 20 });
    expect(s.p99Ms).toBe(20);
  });

  it('counts degraded answers by the reason the device gives, most frequent first', () => {
    const tally = new CascadeTally();
    const missing = { code: 'INVALID_ARG', message: 'tensor "input" is missing (got "pixels")' };
    for (let i = 0; i < 3; i++)
      tally.record({ tier: 'device', correct: true, degraded: true, latencyMs: 1, fallback: missing });
    tally.record({
      tier: 'edge',
      correct: true,
      degraded: true,
      latencyMs: 1,
      fallback: { code: 'UNAVAILABLE', message: 'cloud down' },
    });
    tally.record({ tier: 'cloud', correct: true, degraded: false, latencyMs: 1 });
    const s = tally.summary();
    expect(s.degraded).toBe(4);
    expect(s.fallbacks).toEqual([
      { code: 'INVALID_ARG', count: 3, message: missing.message },
      { code: 'UNAVAILABLE', count: 1, message: 'cloud down' },
    ]);
  });

  it('keeps memory bounded on long runs', () => {
    const tally = new CascadeTally(() => 0.999_999);
    for (let i = 0; i < 50_000; i++)
      tally.record({ tier: 'edge', correct: true, degraded: false, latencyMs: i });
    expect(tally.summary().tiers[1]!.count).toBe(50_000);
    expect(tally.summary().p50Ms).toBeLessThan(20_000);
  });

  it('has no figures before the first answer', () => {
    const s = new CascadeTally().summary();
    expect(s).toMatchObject({ total: 0, accuracy: null, cloudCallsSaved: null, p50Ms: null });
  });

  it('computes nearest-rank quantiles', () => {
    expect(quantile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
  });
});

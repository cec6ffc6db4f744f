import { describe, expect, it } from 'vitest';
import { CascadeTally } from './cascade-tally.ts';
import { renderView } from './live-view.ts';

describe('renderView', () => {
  it('shows every tier with share, accuracy and latency, the savings, the breaker and the URLs', () => {
    const tally = new CascadeTally();
    tally.record({ tier: 'device', correct: true, degraded: false, latencyMs: 0.5 });
    tally.record({ tier: 'device', correct: true, degraded: false, latencyMs: 0.7 });
    tally.record({
      tier: 'edge',
      correct: false,
      degraded: true,
      latencyMs: 3,
      fallback: { code: 'UNAVAILABLE', message: 'cloud unreachable' },
    });
    tally.record({ tier: 'cloud', correct: true, degraded: false, latencyMs: 12 });
    const text = renderView(tally.summary(), {
      elapsedS: 5,
      durationS: 20,
      devices: 20,
      ratePerDevice: 5,
      breaker: 'closed',
      edgeOnline: true,
      urls: { 'cloud HTTP': 'http://127.0.0.1:8080' },
    });
    expect(text).toMatch(/5\/20 s, 20 devices × 5 req\/s/);
    expect(text).toMatch(/device\s+2\s+50\.0 %\s+100\.0 %/);
    expect(text).toMatch(/edge\s+1\s+25\.0 %\s+0\.0 %\s+3\.0 ms\s+3\.0 ms\s+1/);
    expect(text).toMatch(/cloud\s+1\s+25\.0 %\s+100\.0 %\s+12\.0 ms/);
    expect(text).toMatch(/cloud calls saved vs always-cloud: 75\.0 %\s+errors: 0\s+degraded: 1/);
    expect(text).toMatch(/degraded answers, why:\n\s+UNAVAILABLE ×1: cloud unreachable/);
    expect(text).toMatch(/cloud breaker: closed/);
    expect(text).toMatch(/cloud HTTP\s+http:\/\/127\.0\.0\.1:8080/);
  });
});

/** The latency quantiles `GET /api/edges` and the live stream show, from an edge's histogram message. */
import { describe, expect, it } from 'vitest';
import { summarizeTelemetry } from './telemetry-summary.ts';

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const boundsMs = [1, 2, 5, 10, 20, 50];

describe('summarizeTelemetry latency', () => {
  it('gives p50 and p99 as the upper bound of the bucket holding them, null above the last bound', () => {
    const summary = summarizeTelemetry(
      encode({
        latencyMs: {
          // 100 samples: 60 under 1 ms, 39 in (2, 5], 1 above 50 ms.
          edge: { boundsMs, counts: [60, 0, 39, 0, 0, 0, 1], count: 100, sumMs: 300 },
          // 10 samples, 2 of them above the last bound: p99 is past it.
          cloud: { boundsMs, counts: [0, 0, 0, 8, 0, 0, 2], count: 10, sumMs: 400 },
        },
      }),
    );
    expect(summary?.quantileMs).toEqual({ edge: { p50: 1, p99: 5 }, cloud: { p50: 10, p99: null } });
    expect(summary?.meanLatencyMs).toEqual({ edge: 3, cloud: 40 });
  });

  it('leaves the quantiles out of a malformed histogram, and keeps the mean', () => {
    const summary = summarizeTelemetry(
      encode({
        latencyMs: {
          edge: { boundsMs, counts: [1, 2], count: 3, sumMs: 3 },
          cloud: { boundsMs: ['x'], counts: [1, 1], count: 2, sumMs: 2 },
        },
      }),
    );
    expect(summary?.quantileMs).toBeUndefined();
    expect(summary?.meanLatencyMs).toEqual({ edge: 1, cloud: 1 });
  });
});

describe('summarizeTelemetry reports', () => {
  it("keeps the devices' report counts, and leaves out what is not a count", () => {
    const summary = summarizeTelemetry(
      encode({
        reports: {
          accepted: { histogram: 40, audit: 7, feedback: 0, weather: 3 },
          malformed: 2,
          unknownKind: -1,
          dropped: 120,
        },
      }),
    );
    expect(summary?.reports).toEqual({
      accepted: { histogram: 40, audit: 7, feedback: 0 },
      malformed: 2,
      dropped: 120,
    });
  });

  it('has no reports where the edge sent none, or sent them without counts by kind', () => {
    expect(summarizeTelemetry(encode({ counts: { received: 1 } }))?.reports).toBeUndefined();
    expect(summarizeTelemetry(encode({ reports: { dropped: 5 } }))?.reports).toBeUndefined();
    expect(summarizeTelemetry(encode({ reports: 'many' }))?.reports).toBeUndefined();
  });
});

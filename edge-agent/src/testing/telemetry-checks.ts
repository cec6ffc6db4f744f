/** Test support: checks on the telemetry of a real edge agent (histograms, settled counts, reply parameters). */
import { expect, vi } from 'vitest';
import type { HistogramSnapshot } from '../latency-histogram.ts';
import type { AgentFixture } from './agent-fixture.ts';
import type { ReplyRecord } from './device-client.ts';

/** Index of the bucket a sample lands in: the first bound ≥ ms, else the overflow bucket. */
function bucketOf(ms: number, bounds: readonly number[]): number {
  const i = bounds.findIndex((b) => ms <= b);
  return i === -1 ? bounds.length : i;
}

/** The histogram the given samples should produce; replies carry them rounded to 1 µs. */
export function expectHistogramOf(h: HistogramSnapshot, samples: readonly number[]): void {
  const counts = new Array<number>(h.boundsMs.length + 1).fill(0);
  for (const ms of samples) counts[bucketOf(ms, h.boundsMs)]!++;
  expect(h.counts).toEqual(counts);
  expect(h.count).toBe(samples.length);
  const sum = samples.reduce((a, b) => a + b, 0);
  expect(Math.abs(h.sumMs - sum)).toBeLessThanOrEqual(0.0005 * samples.length + 1e-9);
}

export const replyParam = (r: ReplyRecord, name: string) => r.decoded.header.parameters?.[name] as number;
/** Waits until every received message has been through the handler (total latency is observed last). */
export async function settledTelemetry(fixture: AgentFixture, received: number) {
  await vi.waitFor(() => expect(fixture.agent.telemetry().latencyMs.total.count).toBe(received), {
    timeout: 5000,
  });
  return fixture.agent.telemetry();
}

/**
 * The telemetry message an edge publishes (docs/edge-agent.md "Cloud link"): its shape and copy
 * semantics on EdgeTelemetry itself, then its tier counts, latency histograms and breaker state as
 * a real agent fills them while serving real devices over MQTT.
 */
import { encodeInferMessage, topics } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { EdgeTelemetry, type TelemetryGauges } from './edge-telemetry.ts';
import { DEFAULT_LATENCY_BUCKETS_MS } from './latency-histogram.ts';
import { escalatingTo, UNREACHABLE_CLOUD_URL } from './testing/agent-fixture.ts';
import { testDigits } from './testing/device-client.ts';
import {
  expectHistogramOf,
  replyParam as param,
  settledTelemetry as settled,
} from './testing/telemetry-checks.ts';
import { withAgentAndDevice } from './testing/with-agent.ts';

const identity = {
  edgeId: 'edge-1',
  model: 'digits-mid:1',
  uptimeMs: 1234.6,
  at: new Date(Date.UTC(2025, 0, 1)),
};
const gauges: TelemetryGauges = { breaker: 'half-open', queueDepth: 3, inFlight: 2, devices: 20 };

describe('EdgeTelemetry snapshot', () => {
  it('has the documented fields, identity and gauges, and three empty histograms at start', () => {
    const t = new EdgeTelemetry().snapshot(identity, gauges);
    expect(Object.keys(t).sort()).toEqual(
      [
        'edgeId',
        'at',
        'uptimeMs',
        'model',
        'counts',
        'errorsByCode',
        'droppedByReason',
        'breakerOpens',
        'breaker',
        'queueDepth',
        'inFlight',
        'devices',
        'latencyMs',
      ].sort(),
    );
    expect(t).toMatchObject({
      edgeId: 'edge-1',
      at: '2025-01-01T00:00:00.000Z',
      uptimeMs: 1235,
      model: 'digits-mid:1',
      ...gauges,
      counts: { received: 0, edge: 0, cloud: 0, degraded: 0, errors: 0, dropped: 0, escalations: 0 },
      errorsByCode: {},
      droppedByReason: {},
      breakerOpens: 0,
    });
    const empty = {
      boundsMs: [...DEFAULT_LATENCY_BUCKETS_MS],
      counts: new Array(13).fill(0),
      count: 0,
      sumMs: 0,
    };
    expect(t.latencyMs).toEqual({ edge: empty, cloud: empty, total: empty });
  });

  it('tallies errors by code and drops by reason, and keeps each histogram to its own samples', () => {
    const telemetry = new EdgeTelemetry();
    telemetry.recordError('INVALID_ARG');
    telemetry.recordError('INVALID_ARG');
    telemetry.recordError('DEADLINE_EXCEEDED');
    telemetry.recordDrop('malformed-no-reply-to');
    telemetry.edgeLatency.observe(3);
    telemetry.cloudLatency.observe(40);
    telemetry.cloudLatency.observe(45);
    telemetry.totalLatency.observe(7000);
    const t = telemetry.snapshot(identity, gauges);
    expect(t.counts).toMatchObject({ errors: 3, dropped: 1 });
    expect(t.errorsByCode).toEqual({ INVALID_ARG: 2, DEADLINE_EXCEEDED: 1 });
    expect(t.droppedByReason).toEqual({ 'malformed-no-reply-to': 1 });
    expect(t.latencyMs.edge).toMatchObject({ count: 1, sumMs: 3 });
    expect(t.latencyMs.edge.counts[2]).toBe(1);
    expect(t.latencyMs.cloud).toMatchObject({ count: 2, sumMs: 85 });
    expect(t.latencyMs.cloud.counts[5]).toBe(2);
    expect(t.latencyMs.total).toMatchObject({ count: 1, sumMs: 7000 });
    expect(t.latencyMs.total.counts.at(-1)).toBe(1);
  });

  it('is a copy: what the agent counts afterwards does not change a message already taken', () => {
    const telemetry = new EdgeTelemetry();
    telemetry.counts.received++;
    telemetry.recordError('INTERNAL');
    telemetry.edgeLatency.observe(1);
    const first = telemetry.snapshot(identity, gauges);
    const frozen = JSON.parse(JSON.stringify(first)) as unknown;
    telemetry.counts.received++;
    telemetry.recordError('INTERNAL');
    telemetry.recordDrop('shutting-down');
    telemetry.edgeLatency.observe(1);
    telemetry.breakerOpens++;
    expect(first).toEqual(frozen);
    expect(telemetry.snapshot(identity, gauges)).toMatchObject({
      counts: { received: 2, errors: 2, dropped: 1 },
      errorsByCode: { INTERNAL: 2 },
      breakerOpens: 1,
      latencyMs: { edge: { count: 2 } },
    });
  });

  it('survives the JSON it is published as', () => {
    const telemetry = new EdgeTelemetry();
    telemetry.totalLatency.observe(12.25);
    telemetry.totalLatency.observe(Number.NaN); // ignored: would be null in JSON
    const t = telemetry.snapshot(identity, gauges);
    expect(JSON.parse(JSON.stringify(t))).toEqual(t);
  });
});

const device = { id: 'dev-1', token: 'tok-1' };
const { images } = testDigits(6);

describe('telemetry of a serving edge agent', () => {
  it('counts local answers, errors and drops, and histograms the edge_ms it reported', async () => {
    await withAgentAndDevice({ devices: [device] }, async (fixture, dev) => {
      const replies = await Promise.all(images.map((image) => dev.infer(image, { deadlineMs: 5000 })));
      const badShape = encodeInferMessage({ id: 'bad', parameters: { reply_to: topics.reply(device.id) } }, [
        { name: 'image', datatype: 'FP32', shape: [1, 784], data: images[0]! },
      ]);
      await dev.publishRaw(badShape);
      expect((await dev.reply('bad', 5000)).decoded.kind).toBe('error');
      await dev.publishRaw(new Uint8Array([0xde, 0xad, 0xbe, 0xef]));

      const t = await settled(fixture, 8);
      expect(t.counts).toEqual({
        received: 8,
        edge: 6,
        cloud: 0,
        degraded: 0,
        errors: 1,
        dropped: 1,
        escalations: 0,
      });
      expect(t.errorsByCode).toEqual({ INVALID_ARG: 1 });
      expect(t.droppedByReason).toEqual({ 'malformed-no-reply-to': 1 });
      expect(t).toMatchObject({
        edgeId: 'edge-test',
        model: 'digits-mid-int8:1',
        breaker: 'closed',
        devices: 1,
      });
      // The edge histogram holds exactly the edge_ms of the answers; rejected messages never reached the model.
      expectHistogramOf(
        t.latencyMs.edge,
        replies.map((r) => param(r, 'edge_ms')),
      );
      expect(t.latencyMs.cloud.count).toBe(0);
      // Every message that arrived has a total time, at least its edge time.
      expect(t.latencyMs.total.sumMs).toBeGreaterThanOrEqual(t.latencyMs.edge.sumMs);
      expect(JSON.parse(JSON.stringify(t))).toEqual(t);
    });
  });

  it('shows the breaker open, and times only the cloud calls actually tried, when the cloud is down', async () => {
    await withAgentAndDevice(
      {
        devices: [device],
        ...escalatingTo(UNREACHABLE_CLOUD_URL, 2),
      },
      async (fixture, dev) => {
        for (const image of images.slice(0, 5)) {
          const { decoded } = await dev.infer(image, { deadlineMs: 2000 });
          expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: true });
        }
        const t = await settled(fixture, 5);
        expect(t).toMatchObject({ breaker: 'open', breakerOpens: 1 });
        // Two failed calls opened the breaker; the next three were answered degraded without trying.
        expect(t.counts).toMatchObject({ received: 5, edge: 0, cloud: 0, degraded: 5, escalations: 2 });
        expect(t.latencyMs.cloud.count).toBe(2);
        expect(t.latencyMs.edge.count).toBe(5);
      },
    );
  });
});

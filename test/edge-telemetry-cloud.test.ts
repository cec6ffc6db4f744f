/**
 * The telemetry of an edge that escalates to the real cloud gateway (docs/edge-agent.md "Cloud link"):
 * the cloud_ms of escalated answers land in the cloud histogram, every tier counted once.
 */
import { ESCALATE_ALL, type ReplyRecord, testDigits, withAgentAndDevice } from '@fogline/edge-agent/testing';
import {
  expectHistogramOf,
  replyParam as param,
  settledTelemetry as settled,
} from '@fogline/edge-agent/testing/checks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudFixture, startCloud } from './support/cloud.ts';

const device = { id: 'dev-1', token: 'tok-1' };
const { images } = testDigits(6);

describe('telemetry of an edge agent with the real cloud gateway', () => {
  let cloud: CloudFixture;
  beforeAll(async () => {
    cloud = await startCloud();
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('histograms the cloud_ms of escalated answers', async () => {
    await withAgentAndDevice(
      { devices: [device], cloudUrl: cloud.url, ...ESCALATE_ALL },
      async (fixture, dev) => {
        const replies: ReplyRecord[] = [];
        for (const image of images.slice(0, 4)) replies.push(await dev.infer(image, { deadlineMs: 5000 }));
        for (const r of replies) expect(r.decoded.header.parameters).toMatchObject({ tier: 'cloud' });

        const t = await settled(fixture, 4);
        expect(t.counts).toMatchObject({ received: 4, edge: 0, cloud: 4, degraded: 0, escalations: 4 });
        expectHistogramOf(
          t.latencyMs.cloud,
          replies.map((r) => param(r, 'cloud_ms')),
        );
        expectHistogramOf(
          t.latencyMs.edge,
          replies.map((r) => param(r, 'edge_ms')),
        );
        expect(t.latencyMs.total.count).toBe(4);
        expect(t.breaker).toBe('closed');
      },
    );
  });
});

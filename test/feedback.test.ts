import { eventually, type FabricCloud } from '@fogline/cloud/testing';
import type { Device } from '@fogline/device-sdk';
import { testDigits } from '@fogline/edge-agent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditSystem, startAuditSystem } from './support/audit-system.ts';

const EDGE = 'feedback-edge';
const { images, labels } = testDigits(60);
let system: AuditSystem;
let cloud: FabricCloud;
let device: Device;

beforeAll(async () => {
  system = await startAuditSystem({ edgeId: EDGE, auditSeed: 3, auditRate: 0.2 });
  ({ cloud, device } = system);
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

const records = () => system.records();

describe('device.feedback, device → edge → cloud', () => {
  it('joins labels to audited requests, stores the others as feedback records, once per request', async () => {
    const truth = new Map<string, number>();
    for (const [i, image] of images.entries()) {
      const result = await device.infer(image, { deadlineMs: 3000 });
      truth.set(result.requestId, labels[i]!);
      // Every other label by name (the config's labels), the rest by class index.
      const label = i % 2 === 0 ? labels[i]! : device.config.labels[labels[i]!]!;
      expect(device.feedback(result.requestId, label)).toBe(true);
    }
    await eventually(() => device.stats().feedback.sent === images.length, 5000);
    // Each answer's audit goes out on a 0 ms timer (audit-sampler.ts); a timer set now runs after all
    // of them, so the count read next includes every audit sampled.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const { audits, feedback } = device.stats();
    expect(feedback).toMatchObject({ unknownRequest: 0, duplicate: 0, notSent: 0 });
    const done = () => {
      const counts = cloud.server.auditCounts!;
      return counts.stored + counts.feedbackJoined + counts.failed;
    };
    await eventually(() => done() === audits.sent + images.length, 30_000);
    expect(cloud.server.auditCounts).toMatchObject({ failed: 0, feedbackJoined: audits.sent });
    const stored = await records();
    // One record per request: the audited ones carry the label, the rest are feedback records.
    expect(stored).toHaveLength(images.length);
    expect(new Set(stored.map((r) => r.request_id))).toEqual(new Set(truth.keys()));
    const bySource = (source: string) => stored.filter((r) => r.source === source);
    expect(bySource('audit')).toHaveLength(audits.sent);
    expect(audits.sent).toBeGreaterThan(0);
    expect(bySource('feedback')).toHaveLength(images.length - audits.sent);
    for (const r of stored) expect(r.feedback_label, r.request_id).toBe(truth.get(r.request_id));
    for (const r of bySource('feedback')) {
      // Not a sampled request: rate 1 says nothing about sampling; every tier's answer is there.
      expect(r).toMatchObject({ rate: 1, device: 'dev-1', edge: EDGE });
      expect(r.edge_answer).toMatchObject({ model: 'digits-mid-int8:1' });
      expect(r.cloud_answer.model).toBe('digits-large:1');
    }
  }, 90_000);

  it('counts a second label, an unknown request and refuses a label the model does not have', async () => {
    const result = await device.infer(images[0]!, { deadlineMs: 3000 });
    expect(device.feedback(result.requestId, 7)).toBe(true);
    expect(device.feedback(result.requestId, 7)).toBe(false);
    expect(device.feedback('not-a-request', 7)).toBe(false);
    expect(device.stats().feedback).toMatchObject({ duplicate: 1, unknownRequest: 1 });
    expect(() => device.feedback(result.requestId, 10)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARG' }),
    );
    expect(() => device.feedback(result.requestId, 'ten')).toThrow(/not one of the model's labels/);
    expect(() => device.feedback(result.requestId, 1.5)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARG' }),
    );
  }, 30_000);
});

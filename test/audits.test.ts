import { eventually, type FabricCloud } from '@fogline/cloud/testing';
import type { Device, InferResult } from '@fogline/device-sdk';
import type { EdgeAgent } from '@fogline/edge-agent';
import { testDigits } from '@fogline/edge-agent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditSystem, startAuditSystem } from './support/audit-system.ts';

const EDGE = 'audit-edge';
const RATE = 0.2;
const { images } = testDigits(300);
let system: AuditSystem;
let cloud: FabricCloud;
let agent: EdgeAgent;
let device: Device;
const warnings: string[] = [];

beforeAll(async () => {
  system = await startAuditSystem({
    edgeId: EDGE,
    auditSeed: 3,
    auditRate: RATE,
    auditInputs: 'drop',
    warn: (line) => warnings.push(line),
  });
  ({ cloud, agent, device } = system);
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

const records = () => system.records();

describe('audits, device → edge → cloud', () => {
  const answers = new Map<string, InferResult>();

  it('stores a record for every audit sent, at rate p, with every tier answer and the reference', async () => {
    for (const image of images) {
      const result = await device.infer(image, { deadlineMs: 3000 });
      answers.set(result.requestId, result);
    }
    const sent = () => device.stats().audits.sent;
    await eventually(async () => (await records()).length === sent(), 15_000);
    // Binomial(300, 0.2): mean 60, sd 6.9.
    expect(sent()).toBeGreaterThan(32);
    expect(sent()).toBeLessThan(88);
    const stored = await records();
    for (const r of stored) {
      const answer = answers.get(r.request_id)!;
      expect(answer, r.request_id).toBeDefined();
      expect(r).toMatchObject({
        source: 'audit',
        edge: EDGE,
        device: 'dev-1',
        rate: RATE,
        answer_tier: answer.tier,
      });
      expect(r.device_answer.model).toBe('digits-tiny:1');
      expect(r.edge_answer).toMatchObject({ model: 'digits-mid-int8:1' });
      expect(r.cloud_answer.model).toBe('digits-large:1');
      // The edge opted out: the cloud computed its reference on the input but kept none.
      expect(r.input).toBeNull();
      if (answer.tier === 'device') expect(r.device_answer.label).toBe(answer.label);
      else expect(r.edge_answer.label).toBe(answer.label);
    }
    const tiers = new Set(stored.map((r) => r.answer_tier));
    expect(tiers).toEqual(new Set(['device', 'edge']));
    expect(agent.auditCounts()).toMatchObject({
      received: sent(),
      uploaded: sent(),
      dropped: { queueFull: 0, cloudDown: 0, uploadFailed: 0, cloudFull: 0 },
    });
  }, 60_000);

  it('with the cloud gone, answers every request as before and drops the audits, counted', async () => {
    const before = agent.auditCounts()!;
    await cloud.server.stop();
    const results = [];
    for (const image of images.slice(0, 150)) results.push(await device.infer(image, { deadlineMs: 3000 }));
    expect(results.every((r) => !r.degraded && r.fallback === undefined)).toBe(true);
    // The same inputs, the same answers from the same tiers as while the cloud was up.
    const first = [...answers.values()].slice(0, results.length);
    expect(results.map((r) => `${r.tier}:${r.label}`)).toEqual(first.map((r) => `${r.tier}:${r.label}`));
    const received = () => agent.auditCounts()!.received - before.received;
    // Every audit sent is dropped, counted: by the failed upload, or once the breaker is open.
    const dropped = () => agent.auditCounts()!.dropped.uploadFailed + agent.auditCounts()!.dropped.cloudDown;
    await eventually(
      () => agent.auditCounts()!.received === device.stats().audits.sent && dropped() === received(),
      15_000,
    );
    expect(received()).toBeGreaterThan(0);
    expect(agent.auditCounts()).toMatchObject({ uploaded: before.uploaded, queued: 0 });
    expect(warnings.some((w) => w.includes('audit upload failed'))).toBe(true);
  }, 60_000);
});

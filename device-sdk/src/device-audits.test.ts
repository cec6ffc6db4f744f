/**
 * Audits and feedback from the device over real sockets: a real fogline broker (Aedes) whose in-process
 * subscriber reads the report topics as the edge does, a hand-written edge responder, and the
 * committed digits-tiny model. The sample is drawn with a fixed seed.
 */
import {
  type AuditBody,
  encodePolicyMessage,
  ManualClock,
  readAuditBody,
  readDeviceReport,
  topics,
} from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { loadDigits } from '@fogline/shared/digits';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InferResult } from './answer.ts';
import type { Device } from './device.ts';
import type { ConnectDeviceOptions } from './device-options.ts';
import { connectDevice } from './index.ts';
import { type EdgeResponder, startEdgeResponder } from './testing/edge-responder.ts';

const digits = loadDigits('test');
const image = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);
const ALWAYS_LOCAL = { score: 'maxprob', threshold: 0 } as const;
const ALWAYS_ESCALATE = { score: 'maxprob', threshold: 1.01 } as const;

let broker: FoglineBroker | undefined;
let url: string;
let responder: EdgeResponder | undefined;
let audits: AuditBody[] = [];
let feedback: AuditBody[] = [];
const devices: Device[] = [];
let version = 100;

async function device(options: Partial<ConnectDeviceOptions> = {}): Promise<Device> {
  const d = await connectDevice({
    broker: url,
    deviceId: 'dev-1',
    token: 'tok-1',
    edgeId: 'edge-a',
    policy: ALWAYS_LOCAL,
    auditSeed: 7,
    // Far above the default 4/s: these tests send hundreds of requests a second.
    auditBudget: { ratePerSec: 100_000, burst: 100_000 },
    ...options,
  });
  devices.push(d);
  return d;
}

/** Publishes the edge's policy with `auditRate` and waits until the device applies it. */
async function setAuditRate(d: Device, auditRate: number, policy = d.policy): Promise<void> {
  const message = { edge: 'edge-a', version: ++version, model: 'digits-tiny:1', audit_rate: auditRate };
  const { score, threshold } = policy;
  await broker!.publish(
    topics.policy('edge-a'),
    encodePolicyMessage({ ...message, policy: { score, threshold } }),
    {
      retain: true,
    },
  );
  await waitFor(() => d.policy.auditRate === auditRate, 'the audit rate');
}

const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 2_000) => {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

beforeEach(async () => {
  audits = [];
  feedback = [];
  broker = await createBroker({
    mqttPort: 0,
    // Far above the default 5/s: these tests send hundreds of requests a second.
    reportRate: { ratePerSec: 100_000, burst: 100_000 },
    resolveIdentity: async (clientId, token) => {
      if (clientId === 'agent-a' && token === 'tok-agent')
        return { kind: 'service', id: clientId, edgeId: 'edge-a' };
      return token === 'tok-1' ? { kind: 'device', id: clientId, edgeId: 'edge-a' } : null;
    },
  });
  url = `mqtt://127.0.0.1:${(await broker.listen()).mqttPort}`;
  broker.aedes.subscribe(
    topics.allReports,
    (packet, done) => {
      const reading = readDeviceReport(packet.payload as Uint8Array);
      if (reading.ok && (reading.report.kind === 'audit' || reading.report.kind === 'feedback')) {
        const body = readAuditBody(reading.report.body);
        if (!body.ok) throw new Error(body.reason);
        (reading.report.kind === 'audit' ? audits : feedback).push(body.audit);
      }
      done();
    },
    () => {},
  );
  responder = await startEdgeResponder({ url, edgeId: 'edge-a', clientId: 'agent-a', token: 'tok-agent' });
});

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await responder?.close();
  await broker?.close();
});

describe('audits', () => {
  it('samples answered requests at the edge rate p, each audit carrying the input and the output', async () => {
    const d = await device();
    await setAuditRate(d, 0.2);
    const results = new Map<string, { result: InferResult; input: Float32Array }>();
    const n = 400;
    for (let i = 0; i < n; i++) {
      const input = image(i);
      const result = await d.infer(input);
      results.set(result.requestId, { result, input });
    }
    await waitFor(() => audits.length === d.stats().audits.sent, 'the audits to arrive');
    // Binomial(400, 0.2): mean 80, sd 8; the seed fixes the draw, 4 sd bounds it for any seed.
    expect(audits.length).toBeGreaterThan(48);
    expect(audits.length).toBeLessThan(112);
    expect(d.stats().audits.notSent).toBe(0);
    for (const audit of audits) {
      const asked = results.get(audit.id);
      expect(asked, audit.id).toBeDefined();
      expect(audit).toMatchObject({
        rate: 0.2,
        model: 'digits-tiny:1',
        tier: 'device',
        deviceScore: asked!.result.score,
      });
      expect(audit.answerOutputs).toBeUndefined();
      expect(audit.deviceOutputs).toEqual(Array.from(asked!.result.outputs.logits));
      expect(Array.from(audit.input.data as Float32Array)).toEqual(Array.from(asked!.input));
      expect(audit.input.shape).toEqual([1, 1, 28, 28]);
    }
    expect(new Set(audits.map((a) => a.id)).size).toBe(audits.length);
  });

  it('audits 2 % of requests when the edge sent no rate', async () => {
    const d = await device();
    expect(d.policy.auditRate).toBeUndefined();
    for (let i = 0; i < 1000; i++) await d.infer(image(i));
    await waitFor(() => audits.length === d.stats().audits.sent, 'the audits to arrive');
    // Binomial(1000, 0.02): mean 20, sd 4.4.
    expect(audits.length).toBeGreaterThan(2);
    expect(audits.length).toBeLessThan(38);
    expect(audits.every((a) => a.rate === 0.02)).toBe(true);
  });

  it('keeps audits within its budget (default 4/s, burst 16), so score histograms always get through', async () => {
    const d = await device({ auditBudget: { ratePerSec: 1, burst: 3 } });
    await setAuditRate(d, 1);
    for (let i = 0; i < 20; i++) await d.infer(image(i));
    await waitFor(() => d.stats().audits.sent + d.stats().audits.overBudget === 20, 'every draw counted');
    const { sent, overBudget } = d.stats().audits;
    // 3 in the burst, plus at most one per second of the run.
    expect(sent).toBeGreaterThanOrEqual(3);
    expect(sent).toBeLessThan(3 + 20);
    expect(overBudget).toBe(20 - sent);
    expect(overBudget).toBeGreaterThan(0);
    await waitFor(() => audits.length === sent, 'the audits sent');
  });

  it('sends an audit only after the answer, with the upper tier answer, and never changes the answer', async () => {
    const d = await device({ policy: ALWAYS_ESCALATE });
    const baseline = await d.infer(image(3), { deadlineMs: 2_000 });
    await setAuditRate(d, 1);
    const sentBefore = d.stats().audits.sent;
    const audited = await d.infer(image(3), { deadlineMs: 2_000 });
    // The answer is in the caller's hands before its audit has even been built.
    expect(d.stats().audits.sent).toBe(sentBefore);
    expect(audited).toMatchObject({ tier: 'edge', label: baseline.label, degraded: false });
    expect(Array.from(audited.outputs.logits)).toEqual(Array.from(baseline.outputs.logits));
    await waitFor(() => audits.some((a) => a.id === audited.requestId), 'the audit');
    const audit = audits.find((a) => a.id === audited.requestId)!;
    expect(audit).toMatchObject({ tier: 'edge', rate: 1, answerModelVersions: audited.modelVersions });
    expect(audit.answerOutputs).toEqual(Array.from(audited.outputs.logits));
    expect(audit.deviceOutputs).not.toEqual(audit.answerOutputs);
  });

  it('counts audits it could not send while offline; answers stay local and on time', async () => {
    const d = await device();
    await setAuditRate(d, 1);
    await broker!.close();
    broker = undefined;
    await waitFor(() => d.state !== 'online', 'the device to go offline');
    const result = await d.infer(image(0));
    expect(result).toMatchObject({ tier: 'device', degraded: false });
    await waitFor(() => d.stats().audits.notSent === 1, 'the audit to be counted');
    expect(d.stats().audits.sent).toBe(0);
  });
});

describe('feedback', () => {
  it('sends the labelled request with its input and answers, source feedback, after the call returns', async () => {
    const d = await device({ policy: ALWAYS_ESCALATE });
    const input = image(5);
    const result = await d.infer(input, { deadlineMs: 2_000 });
    expect(d.feedback(result.requestId, '4')).toBe(true);
    // Sent a macrotask later, off the caller's path.
    expect(d.stats().feedback.sent).toBe(0);
    await waitFor(() => feedback.length === 1, 'the feedback report');
    expect(feedback[0]).toMatchObject({
      id: result.requestId,
      source: 'feedback',
      label: 4,
      rate: 1,
      tier: 'edge',
      answerOutputs: Array.from(result.outputs.logits),
    });
    expect(Array.from(feedback[0]!.input.data as Float32Array)).toEqual(Array.from(input));
    // An audit of the same request (if the draw picked it) stays an audit.
    expect(audits.every((a) => a.source === undefined)).toBe(true);
    expect(d.stats().feedback).toEqual({ sent: 1, notSent: 0, unknownRequest: 0, duplicate: 0 });
  });

  it('keeps a bounded window by count and age; without one every feedback is a counted no-op', async () => {
    const clock = new ManualClock(1_000);
    const d = await device({ clock, feedbackWindow: { maxRequests: 3, maxAgeMs: 60_000 } });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await d.infer(image(i))).requestId);
    // The oldest of four fell out of a window of three.
    expect(d.feedback(ids[0]!, 1)).toBe(false);
    expect(d.feedback(ids[3]!, 1)).toBe(true);
    clock.advance(60_001);
    expect(d.feedback(ids[2]!, 1)).toBe(false);
    expect(d.stats().feedback).toMatchObject({ unknownRequest: 2 });
    await waitFor(() => feedback.length === 1, 'the one feedback sent');

    const none = await device({ deviceId: 'dev-2', feedbackWindow: false });
    const r = await none.infer(image(0));
    expect(none.feedback(r.requestId, 0)).toBe(false);
    expect(none.stats().feedback.unknownRequest).toBe(1);
  });

  it('refuses a label the model does not have and options out of range, with INVALID_ARG', async () => {
    const d = await device();
    const r = await d.infer(image(0));
    for (const label of [10, -1, 2.5, 'x', Number.NaN]) {
      expect(() => d.feedback(r.requestId, label), String(label)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARG' }),
      );
    }
    expect(() => d.feedback(42 as unknown as string, 1)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARG' }),
    );
    await expect(device({ deviceId: 'dev-3', feedbackWindow: { maxRequests: 0 } })).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringContaining('feedbackWindow.maxRequests'),
    });
  });
});

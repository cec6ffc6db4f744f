/**
 * F7's policy channel end to end, new edge + new SDK: a real edge agent (embedded broker, mid model in
 * onnxruntime) publishes its devices' policy, and a device of the device SDK, connected all along,
 * routes its next answers by it — no reconnect. A policy the device must not take leaves it as it was.
 */
import { connectDevice, type Device, type PolicyEvent } from '@fogline/device-sdk';
import { type AgentFixture, startTestAgent, testDigits } from '@fogline/edge-agent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const { images } = testDigits(8);
const credential = { id: 'dev-1', token: 'tok-1' };
let fixture: AgentFixture;
let device: Device;
const events: PolicyEvent[] = [];
const states: string[] = [];

/** Waits up to a second, the bound the docs promise for a policy to reach a connected device. */
async function withinASecond(predicate: () => boolean, what: string): Promise<number> {
  const start = performance.now();
  while (!predicate()) {
    if (performance.now() - start > 1000) throw new Error(`${what} took more than a second`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - start;
}

const tiers = async () => {
  const results = await Promise.all(images.map((image) => device.infer(image, { deadlineMs: 3000 })));
  return results.map((r) => `${r.tier}${r.degraded ? ' degraded' : ''}`);
};

beforeAll(async () => {
  // No cloud: the edge answers everything it gets, so a reply's tier says who routed it.
  fixture = await startTestAgent({
    devices: [credential],
    routingThreshold: 0,
    deviceModel: 'digits-tiny:1',
  });
  device = await connectDevice({
    broker: fixture.url,
    deviceId: credential.id,
    token: credential.token,
    edgeId: fixture.info.edgeId,
    runtime: 'node',
    onPolicy: (e) => events.push(e),
    onStateChange: (s) => states.push(s),
  });
});

afterAll(async () => {
  await device?.close();
  await fixture?.stop();
});

describe('policy channel, edge → device', () => {
  it('starts on the model config policy', () => {
    expect(device.policy.source).toBe('config');
  });

  it('threshold 1.01 from the edge: every next answer escalated; threshold 0: every answer local', async () => {
    const high = await fixture.agent.publishDevicePolicy({ score: 'maxprob', threshold: 1.01 });
    await withinASecond(() => device.policy.edgeVersion === high.version, 'the first policy');
    expect(await tiers()).toEqual(images.map(() => 'edge'));
    const stats = device.stats();
    expect(stats.escalated).toBe(images.length);

    const low = await fixture.agent.publishDevicePolicy({ score: 'margin', threshold: 0 });
    await withinASecond(() => device.policy.edgeVersion === low.version, 'the second policy');
    expect(device.policy).toEqual({
      score: 'margin',
      threshold: 0,
      source: 'edge',
      edgeVersion: low.version,
    });
    expect(await tiers()).toEqual(images.map(() => 'device'));
    expect(device.stats().escalated).toBe(images.length);
    expect(states).toEqual(['online']);
    expect(events.map((e) => e.kind)).toEqual(['applied', 'applied']);
  });

  it('refuses a policy for another device model and keeps the one in effect', async () => {
    const before = device.policy;
    await fixture.agent.publishDevicePolicy(
      { score: 'maxprob', threshold: 1.01 },
      { model: 'digits-tiny:2' },
    );
    await withinASecond(() => events.length === 3, 'the refusal');
    expect(events[2]).toMatchObject({ kind: 'refused', code: 'other-model' });
    expect(device.policy).toEqual(before);
    expect(await tiers()).toEqual(images.map(() => 'device'));
  });

  it("records every publish in the edge's routing history", async () => {
    expect(fixture.agent.routingHistory().map((c) => [c.target, c.to.threshold, c.model])).toEqual([
      ['devices', 1.01, 'digits-tiny:1'],
      ['devices', 0, 'digits-tiny:1'],
      ['devices', 1.01, 'digits-tiny:2'],
    ]);
  });
});

describe('report channel, device → edge', () => {
  it("delivers a device's reports to the edge's inbox; an invalid one is refused before it leaves", async () => {
    const seen: string[] = [];
    // The device also sends audits of its own answers (2 % by default): only these two are counted here.
    const before = fixture.agent.reportCounts().accepted;
    const stop = fixture.agent.onReport((deviceId, report) => {
      if (report.kind === 'histogram' || report.body.id === 'r1') seen.push(`${deviceId}:${report.kind}`);
    });
    expect(device.report({ kind: 'histogram', body: { bins: [3, 1] } })).toBe(true);
    expect(device.report({ kind: 'audit', body: { id: 'r1' } })).toBe(true);
    await expect.poll(() => seen).toEqual(['dev-1:histogram', 'dev-1:audit']);
    expect(() => device.report({ kind: 'weather' as 'audit', body: {} })).toThrow(/unknown kind/);
    const after = fixture.agent.reportCounts();
    expect(after).toMatchObject({ accepted: { histogram: before.histogram + 1 }, dropped: 0 });
    expect(after.accepted.audit).toBeGreaterThanOrEqual(before.audit + 1);
    expect(device.stats()).toMatchObject({ reportsSent: 2, reportsNotSent: 0 });
    stop();
  });
});

/**
 * The three real pieces together through the Mosquitto on this machine (127.0.0.1:1883, no auth) as
 * the edge's external broker (`fogline edge --broker`): device SDK → edge agent → cloud gateway.
 * Two agents, both on Mosquitto: one answers everything itself, one escalates everything to the cloud.
 * Mosquitto is shared by every test run, so edge and device ids are unique per run.
 *
 * Not skipped when Mosquitto is down: .ci/ensure-services.sh starts it, so a failure here is real.
 */
import { connectDevice, type Device, type InferResult, type RoutingPolicy } from '@fogline/device-sdk';
import { type AgentFixture, startTestAgent, uniqueId } from '@fogline/edge-agent/testing';
import type { ScoreKind } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { MOSQUITTO_URL, mosquittoReachable, NO_MOSQUITTO } from '@fogline/shared/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CloudFixture, startCloud } from './support/cloud.ts';

/** Normalised-entropy confidence reaches 1 only for an exactly one-hot softmax: always escalates. */
const ESCALATE: RoutingPolicy = { score: 'entropy', threshold: 1 };
/** Every maxprob is >= 0: always answers. */
const ANSWER: RoutingPolicy = { score: 'maxprob', threshold: 0 };
// The test split is ordered by label, 150 digits per class: one digit of each class.
const split = loadDigits('test');
const SAMPLES = Array.from({ length: 10 }, (_, digit) => digit * 150 + 7);
const image = (i: number) => split.images.slice(i * 784, (i + 1) * 784);
const DEADLINE_MS = 5000;

let cloud: CloudFixture | undefined;
let answeringEdge: AgentFixture;
let escalatingEdge: AgentFixture;
const agents: AgentFixture[] = [];
const devices: Device[] = [];

const mosquittoUp = await mosquittoReachable();

async function startAgent(routingScore: ScoreKind, routingThreshold: number): Promise<AgentFixture> {
  const fixture = await startTestAgent({
    edgeId: uniqueId('edge-fm'),
    localBroker: { kind: 'external', url: MOSQUITTO_URL },
    cloudUrl: cloud!.url,
    routingScore,
    routingThreshold,
  });
  agents.push(fixture);
  return fixture;
}

async function device(edge: AgentFixture, policy: RoutingPolicy): Promise<Device> {
  const d = await connectDevice({
    broker: MOSQUITTO_URL,
    deviceId: uniqueId('dev-fm'),
    edgeId: edge.info.edgeId,
    policy,
  });
  devices.push(d);
  expect(d.state).toBe('online');
  return d;
}

async function inferAll(d: Device): Promise<InferResult[]> {
  const results: InferResult[] = [];
  for (const i of SAMPLES) results.push(await d.infer(image(i), { deadlineMs: DEADLINE_MS }));
  return results;
}

const labelsOf = (results: InferResult[]) => results.map((r) => r.label);
const expectedLabels = SAMPLES.map((i) => split.labels[i]);

beforeAll(async () => {
  if (!mosquittoUp) return; // every test then fails with NO_MOSQUITTO (beforeEach)
  cloud = await startCloud();
  [answeringEdge, escalatingEdge] = await Promise.all([
    startAgent(ANSWER.score, ANSWER.threshold!),
    startAgent(ESCALATE.score, ESCALATE.threshold!),
  ]);
});

afterAll(async () => {
  for (const d of devices) await d.close().catch(() => {});
  for (const a of agents) await a.stop().catch(() => {});
  await cloud?.stop();
});

describe('device SDK → edge agent on Mosquitto → cloud gateway', () => {
  beforeEach(() => expect(mosquittoUp, NO_MOSQUITTO).toBe(true));

  it('the edge agent reports Mosquitto as its local broker', () => {
    expect(answeringEdge.info.localBroker).toEqual({ kind: 'external', url: MOSQUITTO_URL });
  });

  it('a confident device answers itself: tier device, nothing reaches the edge', async () => {
    const d = await device(answeringEdge, ANSWER);
    const results = await inferAll(d);
    for (const r of results) expect(r).toMatchObject({ tier: 'device', degraded: false });
    expect(labelsOf(results)).toEqual(expectedLabels);
    expect(d.stats()).toMatchObject({ local: SAMPLES.length, escalated: 0 });
  });

  it('a device that escalates gets the edge answer: tier edge, edge latency, not degraded', async () => {
    const d = await device(answeringEdge, ESCALATE);
    const results = await inferAll(d);
    for (const r of results) {
      expect(r, JSON.stringify(r.fallback)).toMatchObject({ tier: 'edge', degraded: false });
      expect(r.latencyMs.edge).toBeGreaterThan(0);
      expect(r.latencyMs.cloud).toBeUndefined();
    }
    expect(labelsOf(results)).toEqual(expectedLabels);
    expect(d.stats()).toMatchObject({
      escalated: SAMPLES.length,
      answeredUpstream: SAMPLES.length,
      fallbacks: 0,
    });
  });

  it('when device and edge both escalate, the cloud answers: tier cloud, cloud latency', async () => {
    const d = await device(escalatingEdge, ESCALATE);
    const results = await inferAll(d);
    for (const r of results) {
      expect(r, JSON.stringify(r.fallback)).toMatchObject({ tier: 'cloud', degraded: false });
      expect(r.latencyMs.cloud).toBeGreaterThan(0);
      expect(r.modelVersions).toContain('digits-large');
    }
    expect(labelsOf(results)).toEqual(expectedLabels);
  });

  it("each edge agent's telemetry counts exactly what its devices sent it", async () => {
    const n = SAMPLES.length;
    const quiet = { degraded: 0, errors: 0, dropped: 0 };
    await expect
      .poll(() => answeringEdge.agent.telemetry().counts)
      .toEqual({ received: n, edge: n, cloud: 0, escalations: 0, ...quiet });
    await expect
      .poll(() => escalatingEdge.agent.telemetry().counts)
      .toEqual({ received: n, edge: 0, cloud: n, escalations: n, ...quiet });
  });
});

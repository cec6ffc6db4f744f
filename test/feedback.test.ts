/**
 * Ground truth end to end over real sockets (docs/field-accuracy.md "Feedback"): an SDK device
 * (digits-tiny, seeded audits at 20 %) labels every request it made with `device.feedback` right
 * after its answer → edge agent (embedded broker, digits-mid-int8) → real CloudServer (PGlite,
 * digits-large). An audited request's label joins its audit record; any other request becomes one
 * record of its own with `source: 'feedback'`; a request is never stored twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import { testDigits } from '@fogline/edge-agent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const EDGE = 'feedback-edge';
const { images, labels } = testDigits(60);
const dataDir = mkdtempSync(join(tmpdir(), 'fogline-feedback-'));
let cloud: FabricCloud;
let agent: EdgeAgent;
let device: Device;

// biome-ignore lint/suspicious/noExplicitAny: records are read as the JSON the admin API returns
type RecordView = Record<string, any>;

async function records(): Promise<RecordView[]> {
  const res = await fetch(`${cloud.url}/api/audits?edge=${EDGE}`, {
    headers: { authorization: `Bearer ${cloud.ready.adminToken.token}` },
  });
  return ((await res.json()) as { records: RecordView[] }).records;
}

beforeAll(async () => {
  cloud = await startFabricCloud({ models: ['digits-large'], cloudModel: 'digits-large' });
  const edge = await cloud.admin.createEdge(EDGE);
  const { token } = await cloud.admin.createDevice('dev-1', EDGE);
  agent = createEdgeAgent({
    edgeId: EDGE,
    token: edge.token,
    cloudUrl: cloud.url,
    cloudModel: 'digits-large',
    deviceModel: 'digits-tiny:1',
    localBroker: {
      kind: 'embedded',
      host: '127.0.0.1',
      mqttPort: 0,
      reportRate: { ratePerSec: 10_000, burst: 10_000 },
    },
    dataDir,
    workers: 1,
    intraOpThreads: 1,
    logger: { info: () => {}, warn: () => {} },
  });
  const info = await agent.start();
  await eventually(() => agent.deviceListVersion !== undefined, 5000);
  device = await connectDevice({
    broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
    deviceId: 'dev-1',
    token,
    edgeId: EDGE,
    runtime: 'node',
    auditSeed: 3,
    auditBudget: { ratePerSec: 10_000, burst: 10_000 },
  });
  agent.setRouting({ score: 'maxprob', threshold: 0 });
  const policy = await agent.publishDevicePolicy({ score: 'maxprob', threshold: 0.9 }, { auditRate: 0.2 });
  await eventually(() => device.policy.edgeVersion === policy.version, 2000);
}, 60_000);

afterAll(async () => {
  await device?.close();
  await agent?.stop().catch(() => {});
  await cloud?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

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

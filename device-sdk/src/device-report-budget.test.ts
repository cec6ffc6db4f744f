/**
 * The device's report budget against the edge's report bucket, over real sockets: a real fogline
 * broker (Aedes) with the edge's default per-device report bucket (5/s, burst 20), a service
 * subscriber reading the report topics as the edge does, and a real SDK device (digits-tiny in
 * onnxruntime) at its default audit budget (4/s, burst 16). Every answer is audited (p = 1) and a
 * histogram is cut every 10 inferences: far more reports than either bucket admits. Every inference
 * must still be counted in a histogram at the edge, and the edge must drop nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DriftReference,
  encodePolicyMessage,
  readDeviceReport,
  readHistogramReport,
  topics,
} from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from './device.ts';
import type { ConnectDeviceOptions } from './device-options.ts';
import { connectDevice } from './index.ts';

const MODEL = join(DEFAULT_MODELS_DIR, 'digits-tiny', '1', 'model.onnx');
const CONFIG = JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, 'digits-tiny', 'config.json'), 'utf8'));
const DRIFT: DriftReference = {
  score: 'margin',
  model: 'digits-tiny',
  version: 1,
  bins: [0, 0.5, 0.9, 0.99, 1],
  reference: [0.1, 0.2, 0.3, 0.4],
  records: 100,
};
const { images } = loadDigits('test');
const digit = (i: number) => images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);

let broker: FoglineBroker;
let url: string;
const counted = { histograms: 0, samples: 0, audits: 0 };
let device: Device | undefined;

beforeEach(async () => {
  // The edge's embedded broker with its default report bucket.
  broker = await createBroker({
    mqttPort: 0,
    resolveIdentity: async (id, token) => (token === 'tok' ? { kind: 'device', id, edgeId: 'edge-a' } : null),
  });
  url = `mqtt://127.0.0.1:${(await broker.listen()).mqttPort}`;
  Object.assign(counted, { histograms: 0, samples: 0, audits: 0 });
  broker.aedes.subscribe(
    topics.allReports,
    (packet, done) => {
      const reading = readDeviceReport(packet.payload as Uint8Array);
      if (!reading.ok) throw new Error(`a malformed report: ${reading.reason}`);
      if (reading.report.kind === 'audit') counted.audits++;
      if (reading.report.kind === 'histogram') {
        const body = readHistogramReport(reading.report.body, DRIFT);
        if (!body.ok) throw new Error(body.reason);
        counted.histograms++;
        counted.samples += body.histogram.count;
      }
      done();
    },
    () => {},
  );
});

afterEach(async () => {
  await device?.close();
  device = undefined;
  await broker.close();
});

const connect = (options: Partial<ConnectDeviceOptions> = {}) =>
  connectDevice({
    broker: url,
    deviceId: 'dev-1',
    token: 'tok',
    edgeId: 'edge-a',
    model: MODEL,
    runtime: 'node',
    config: { ...CONFIG, drift: DRIFT },
    policy: { score: 'margin', threshold: 0 },
    driftHistogram: { everyRequests: 10 },
    ...options,
  });

describe('report budget: audits bursting at the full budget, with histograms', () => {
  it('every inference reaches the edge in a histogram, and the edge drops no report', async () => {
    device = await connect();
    // The edge audits everything (as a drift alarm raises the rate): every answer draws an audit.
    const policy = { edge: 'edge-a', version: 1, model: 'digits-tiny:1', audit_rate: 1 };
    await broker.publish(topics.policy('edge-a'), encodePolicyMessage(policy), { retain: true });
    await expect.poll(() => device!.policy.auditRate).toBe(1);

    // 400 inferences over ~1.5 s: 40 histograms and 400 audit draws, against an edge bucket of
    // 20 + 5/s ≈ 27 reports in that time.
    const n = 400;
    for (let i = 0; i < n; i++) {
      await device.infer(digit(i));
      if (i % 50 === 49) await new Promise((r) => setTimeout(r, 180));
    }
    // Without closing the device: a histogram kept back for the budget goes out when a token comes.
    await expect.poll(() => counted.samples, { timeout: 5_000 }).toBe(n);
    expect(broker.stats().reportsDropped).toBe(0);
    // Audits still go out, within the budget; the rest are counted over budget, none is lost unseen.
    const audits = device.stats().audits;
    expect(audits.sent).toBeGreaterThan(0);
    expect(audits.sent + audits.overBudget).toBe(n);
    await expect.poll(() => counted.audits).toBe(audits.sent);
  });

  it('a histogram still waiting for the budget when the device closes goes out on close', async () => {
    // One report every 100 s: the first histogram takes the token, the rest wait for the next one.
    device = await connect({ auditBudget: { ratePerSec: 0.01, burst: 1 } });
    // No audits (the default draws 2 %): one could take the only token before the histogram does.
    const policy = { edge: 'edge-a', version: 1, model: 'digits-tiny:1', audit_rate: 0 };
    await broker.publish(topics.policy('edge-a'), encodePolicyMessage(policy), { retain: true });
    await expect.poll(() => device!.policy.auditRate).toBe(0);
    // The first window goes out with the one token. (Its send waits for a timer turn, so the first
    // ten are answered before the rest: windows cut before that turn would merge into it.)
    for (let i = 0; i < 10; i++) await device.infer(digit(i));
    await expect.poll(() => counted.samples).toBe(10);
    for (let i = 10; i < 35; i++) await device.infer(digit(i));
    await new Promise((r) => setTimeout(r, 50));
    expect(counted.samples).toBe(10);
    await device.close();
    await expect.poll(() => counted.samples).toBe(35);
    expect(broker.stats().reportsDropped).toBe(0);
  });
});

/**
 * Score histograms from a real SDK device over a real fogline broker: what an edge service reads on
 * the report topic are the device's own routing scores on its config's drift bins; a drift block for
 * another model version, or `driftHistogram: false`, sends nothing.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DriftReference,
  type HistogramReport,
  histogram,
  readDeviceReport,
  readHistogramReport,
  topics,
} from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from './device.ts';
import type { ConnectDeviceOptions } from './device-options.ts';
import { connectDevice } from './index.ts';

const TOKEN = 'tok';
const MODEL = join(DEFAULT_MODELS_DIR, 'digits-tiny', '1', 'model.onnx');
const CONFIG = JSON.parse(readFileSync(join(DEFAULT_MODELS_DIR, 'digits-tiny', 'config.json'), 'utf8'));
const drift = (version: number): DriftReference => ({
  score: 'margin',
  model: 'digits-tiny',
  version,
  bins: [0, 0.5, 0.9, 0.99, 1],
  reference: [0.1, 0.2, 0.3, 0.4],
  records: 100,
});
const { images } = loadDigits('test');
const digit = (i: number) => images.subarray(i * 97 * DIGIT_PIXELS, (i * 97 + 1) * DIGIT_PIXELS);

let broker: FoglineBroker;
let service: mqtt.MqttClient;
let received: HistogramReport[];
const devices: Device[] = [];

beforeEach(async () => {
  broker = await createBroker({
    mqttPort: 0,
    resolveIdentity: async (id, token) => {
      if (token !== TOKEN) return null;
      return id === 'agent-a'
        ? { kind: 'service', id, edgeId: 'edge-a' }
        : { kind: 'device', id, edgeId: 'edge-a' };
    },
  });
  const url = `mqtt://127.0.0.1:${(await broker.listen()).mqttPort}`;
  received = [];
  service = await mqtt.connectAsync(url, { clientId: 'agent-a', username: 'agent-a', password: TOKEN });
  service.on('message', (_topic, payload) => {
    const reading = readDeviceReport(payload);
    if (!reading.ok) throw new Error(`a malformed report: ${reading.reason}`);
    // Audits (drawn at the default 2 %) share the report topic: only histograms are counted here.
    if (reading.report.kind !== 'histogram') return;
    const body = readHistogramReport(reading.report.body, drift(1));
    if (!body.ok) throw new Error(body.reason);
    received.push(body.histogram);
  });
  await service.subscribeAsync(topics.allReports, { qos: 0 });
  devices.length = 0;
  connect = (options) =>
    connectDevice({
      broker: url,
      deviceId: 'dev-1',
      token: TOKEN,
      edgeId: 'edge-a',
      model: MODEL,
      runtime: 'node',
      // Every answer local: its score is the device's margin.
      policy: { score: 'margin', threshold: 0 },
      ...options,
    }).then((d) => {
      devices.push(d);
      return d;
    });
});

let connect: (options: Partial<ConnectDeviceOptions>) => Promise<Device>;

afterEach(async () => {
  await Promise.all(devices.map((d) => d.close()));
  await service.endAsync();
  await broker.close();
});

describe('device score histograms', () => {
  it("sends its inferences' margins on the drift bins, in windows of everyRequests", async () => {
    const device = await connect({
      config: { ...CONFIG, drift: drift(1) },
      driftHistogram: { everyRequests: 5 },
    });
    expect(device.sendsHistograms).toBe(true);
    const scores: number[] = [];
    for (let i = 0; i < 10; i++) scores.push((await device.infer(digit(i))).score);
    await expect.poll(() => received.length).toBe(2);
    expect(received.map((h) => h.count)).toEqual([5, 5]);
    const summed = received[0]!.counts.map((c, i) => c + received[1]!.counts[i]!);
    expect(summed).toEqual(histogram(scores, drift(1).bins));
    expect(received[0]).toMatchObject({ model: 'digits-tiny:1', score: 'margin' });
  });

  it('sends nothing for a drift block of another model version, or with driftHistogram: false', async () => {
    const stale = await connect({ config: { ...CONFIG, drift: drift(2) } });
    expect(stale.sendsHistograms).toBe(false);
    await stale.close();
    const off = await connect({ config: { ...CONFIG, drift: drift(1) }, driftHistogram: false });
    expect(off.sendsHistograms).toBe(false);
    for (let i = 0; i < 3; i++) await off.infer(digit(i));
    await off.close();
    // A device that sends would have sent its window on close; give it time to arrive.
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toEqual([]);
  });
});

/**
 * The device SDK against an external MQTT 3.1.1 broker: the Mosquitto on this machine (127.0.0.1:1883,
 * no authentication), as an edge box running Mosquitto instead of the embedded broker would.
 */
import { loadDigits } from '@fogline/shared/digits';
import { MOSQUITTO_URL, mosquittoReachable, NO_MOSQUITTO } from '@fogline/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Device } from './device.ts';
import { connectDevice } from './index.ts';
import { type EdgeResponder, startEdgeResponder } from './testing/edge-responder.ts';

const reachable = await mosquittoReachable();

// Unique ids: other test runs may share this Mosquitto.
const run = `${process.pid}-${Date.now().toString(36)}`;
const edgeId = `edge-mq-${run}`;
const digits = loadDigits('test');
const image = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);

// Not skipped when Mosquitto is down: .ci/ensure-services.sh starts it, so a failure here is real.
describe('device SDK through Mosquitto (external broker, no auth)', () => {
  it('finds the Mosquitto at 127.0.0.1:1883 (start it with .ci/ensure-services.sh)', () => {
    expect(reachable, NO_MOSQUITTO).toBe(true);
  });

  let responder: EdgeResponder;
  let device: Device;

  beforeAll(async () => {
    responder = await startEdgeResponder({ url: MOSQUITTO_URL, edgeId });
    device = await connectDevice({
      broker: MOSQUITTO_URL,
      deviceId: `dev-mq-${run}`,
      edgeId,
      policy: { score: 'maxprob', threshold: 1 },
    });
  });

  afterAll(async () => {
    await device?.close();
    await responder?.close();
  });

  it('escalates over Mosquitto and gets the edge answer', async () => {
    responder.label = 4;
    const result = await device.infer(image(0), { deadlineMs: 2_000 });
    expect(result).toMatchObject({ tier: 'edge', label: 4, degraded: false });
  });

  it('still answers before the deadline, degraded, when the edge is silent', async () => {
    responder.mode = 'silent';
    const result = await device.infer(image(1), { deadlineMs: 200 });
    expect(result).toMatchObject({ tier: 'device', degraded: true, fallback: { code: 'DEADLINE_EXCEEDED' } });
    responder.mode = 'answer';
  });
});

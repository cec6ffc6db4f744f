/**
 * The edge agent with an external broker: the Mosquitto of this machine (127.0.0.1:1883, no auth) in
 * place of the embedded one. Mosquitto is shared by every test run, so ids are unique per run.
 */

import {
  connectTestDevice,
  labelOf,
  startTestAgent,
  testDigits,
  uniqueId,
} from '@fogline/edge-agent/testing';
import { encodeInferMessage, topics } from '@fogline/shared';
import { MOSQUITTO_URL, mosquittoReachable, NO_MOSQUITTO } from '@fogline/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudFixture, startCloud } from './support/cloud.ts';

const { images, labels } = testDigits(6);
let cloud: CloudFixture;

const mosquittoUp = await mosquittoReachable();

beforeAll(async () => {
  if (mosquittoUp) cloud = await startCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

// Not skipped when Mosquitto is down: .ci/ensure-services.sh starts it, so a failure here is real.
describe('edge agent on an external broker (Mosquitto)', () => {
  it('serves devices end to end through Mosquitto: edge model, cloud escalation and error replies', async () => {
    expect(mosquittoUp, NO_MOSQUITTO).toBe(true);
    const edgeId = uniqueId('edge');
    const deviceId = uniqueId('dev');
    const fixture = await startTestAgent({
      edgeId,
      localBroker: { kind: 'external', url: MOSQUITTO_URL },
      cloudUrl: cloud.url,
      routingScore: 'entropy',
      routingThreshold: 1, // every input escalates: the full device → edge → cloud → device path
    });
    const device = await connectTestDevice({ url: MOSQUITTO_URL, deviceId, edgeId });
    try {
      expect(fixture.info.localBroker).toEqual({ kind: 'external', url: MOSQUITTO_URL });
      let correct = 0;
      for (let i = 0; i < images.length; i++) {
        const { decoded } = await device.infer(images[i]!, { deadlineMs: 5000 });
        expect(decoded.header.parameters).toMatchObject({ tier: 'cloud', degraded: false });
        if (labelOf(decoded) === labels[i]) correct++;
      }
      expect(correct).toBeGreaterThanOrEqual(5);

      const broken = encodeInferMessage({ id: 'broken', parameters: { reply_to: topics.reply(deviceId) } }, [
        { name: 'image', datatype: 'FP32', shape: [1, 28, 28], data: images[0]! },
      ]);
      await device.publishRaw(broken);
      await device.publishRaw(new Uint8Array([1, 2, 3]));
      const { decoded } = await device.reply('broken', 5000);
      expect(decoded.header.parameters?.error_code).toBe('INVALID_ARG');
      const after = await device.infer(images[0]!, { deadlineMs: 5000 });
      expect(after.decoded.kind).toBe('response');
      expect(fixture.agent.telemetry().counts).toMatchObject({
        cloud: images.length + 1,
        errors: 1,
        dropped: 1,
      });
    } finally {
      await device.close();
      await fixture.stop();
    }
  });
});

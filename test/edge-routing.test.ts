/**
 * The three ways an edge answers (docs/design.md "One inference, end to end"), over real sockets: devices
 * on the embedded broker, the mid model in onnxruntime, and the real cloud gateway for escalations.
 */

import type { AgentFixture } from '@fogline/edge-agent/testing';
import {
  labelOf,
  type TestAgentOptions,
  type TestDevice,
  testDigits,
  withAgentAndDevice,
} from '@fogline/edge-agent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudFixture, startCloud } from './support/cloud.ts';

const device = { id: 'dev-1', token: 'tok-1' };
const { images, labels } = testDigits(10);
let cloud: CloudFixture;

beforeAll(async () => {
  cloud = await startCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

function withAgent(
  options: TestAgentOptions,
  body: (fixture: AgentFixture, dev: TestDevice) => Promise<void>,
) {
  return withAgentAndDevice({ devices: [device], cloudUrl: cloud.url, ...options }, body);
}

describe('edge agent routing', () => {
  it('answers a confident input itself: tier edge, not degraded, the mid model named', async () => {
    await withAgent({ routingThreshold: 0 }, async ({ agent }, dev) => {
      const replies = await Promise.all(images.map((image) => dev.infer(image, { deadlineMs: 2000 })));
      let correct = 0;
      replies.forEach(({ decoded }, i) => {
        expect(decoded.kind).toBe('response');
        expect(decoded.header.parameters).toMatchObject({
          tier: 'edge',
          degraded: false,
          model_versions: 'digits-mid-int8:1',
        });
        expect(decoded.tensors[0]?.shape).toEqual([1, 10]);
        if (labelOf(decoded) === labels[i]) correct++;
      });
      expect(correct).toBeGreaterThanOrEqual(9);
      expect(agent.telemetry().counts).toMatchObject({ received: 10, edge: 10, cloud: 0, escalations: 0 });
    });
  });

  it('escalates an uncertain input and relays the cloud answer with tier cloud', async () => {
    // Entropy confidence reaches 1 only for an exactly one-hot softmax: every input escalates.
    await withAgent({ routingScore: 'entropy', routingThreshold: 1 }, async ({ agent }, dev) => {
      let correct = 0;
      for (let i = 0; i < 5; i++) {
        const { decoded } = await dev.infer(images[i]!, { deadlineMs: 5000 });
        expect(decoded.header.parameters).toMatchObject({
          tier: 'cloud',
          degraded: false,
          model_versions: 'digits-mid-int8:1,digits-large:1',
        });
        expect(decoded.header.parameters?.cloud_ms).toBeGreaterThan(0);
        expect(decoded.header.parameters?.edge_ms).toBeGreaterThan(0);
        if (labelOf(decoded) === labels[i]) correct++;
      }
      expect(correct).toBeGreaterThanOrEqual(4);
      expect(agent.telemetry().counts).toMatchObject({ cloud: 5, escalations: 5, degraded: 0 });
    });
  });

  it('answers locally, not degraded, when the budget left is too small for a cloud round trip', async () => {
    await withAgent(
      { routingScore: 'entropy', routingThreshold: 1, minCloudBudgetMs: 5000 },
      async ({ agent }, dev) => {
        const { decoded } = await dev.infer(images[0]!, { deadlineMs: 1000 });
        expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: false });
        expect(agent.telemetry().counts.escalations).toBe(0);
      },
    );
  });
});

import { DEFAULT_MODEL_PATH } from '@fogline/device-sdk';
import { startTestAgent } from '@fogline/edge-agent/testing';
import { describe, expect, it } from 'vitest';
import { soakLoad } from './load.ts';

describe('soak load (npm run bench -- soak)', { timeout: 120_000 }, () => {
  it('counts every request a live edge answers (lean and SDK devices), and none as lost', async () => {
    const devices = Array.from({ length: 6 }, (_, i) => ({ id: `soak-test-${i}`, token: `token-${i}` }));
    const edge = await startTestAgent({ edgeId: 'soak-test-edge', devices, routingThreshold: 0 });
    try {
      const r = await soakLoad({
        ...{
          broker: edge.url,
          edgeId: 'soak-test-edge',
          devices: devices.slice(0, 5),
          deadlineMs: 10_000,
          lostAfterMs: 30_000,
        },
        sdk: { devices: devices.slice(5), model: DEFAULT_MODEL_PATH },
        ...{ ratePerSec: 2, warmupMs: 1000, durationMs: 3000, sampleMs: 1000 },
      });
      expect(r.devices).toBe(6);
      expect(r.sent).toBeGreaterThan(0);
      expect(r).toMatchObject({ answered: r.sent, explicitErrors: 0, lost: 0, disconnected: 0 });
    } finally {
      await edge.stop();
    }
  });
});

/**
 * Audits at the edge over real sockets, with a cloud that never answers (saturated) and one that is
 * down: requests flooded by audits are all answered on time by the edge model; audits beyond the
 * bounded side queue are dropped and counted; with the breaker open they are dropped, not queued.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type AuditBody, auditReport, encodeDeviceReport, topics } from '@fogline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escalatingTo, UNREACHABLE_CLOUD_URL } from './testing/agent-fixture.ts';
import { testDigits } from './testing/device-client.ts';
import { withAgentAndDevice } from './testing/with-agent.ts';

const device = { id: 'dev-1', token: 'tok-1' };
const { images } = testDigits(50);
const audit = (i: number): AuditBody => ({
  id: `req-${i}`,
  time: Date.now(),
  rate: 1,
  model: 'digits-tiny:1',
  input: { name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28], data: images[i % images.length]! },
  deviceOutputs: Array.from({ length: 10 }, () => 0),
  deviceScore: 0.5,
  tier: 'device',
});
const reportPayload = (i: number) => encodeDeviceReport(auditReport(audit(i)));
const FAST_REPORTS = { reportRate: { ratePerSec: 100_000, burst: 100_000 } };

/** A "cloud" that accepts connections and never answers: every upload hangs until its timeout. */
let saturated: Server;
let saturatedUrl: string;
const sockets: Socket[] = [];
beforeAll(async () => {
  saturated = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => saturated.listen(0, '127.0.0.1', r));
  saturatedUrl = `http://127.0.0.1:${(saturated.address() as { port: number }).port}`;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => saturated.close(r));
});

describe('audits at the edge', () => {
  it('a saturated cloud: requests flooded by audits are all answered by the edge; the side queue sheds, counted', async () => {
    const options = {
      devices: [device],
      cloudUrl: saturatedUrl,
      routingThreshold: 0,
      auditQueueSize: 8,
      localBroker: { kind: 'embedded' as const, host: '127.0.0.1', mqttPort: 0, ...FAST_REPORTS },
    };
    await withAgentAndDevice(options, async ({ agent }, dev) => {
      const flood = (from: number, n: number) =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            dev.client.publishAsync(topics.report(device.id), Buffer.from(reportPayload(from + i))),
          ),
        );
      // First audits: the edge model adds its answers, and their upload hangs on the cloud.
      await flood(0, 8);
      await expect.poll(() => inFlight(agent.auditCounts()!), { timeout: 5000 }).toBe(8);
      // Then requests flooded by audits while that upload hangs.
      const more = flood(8, 200);
      const replies = await Promise.all(images.map((image) => dev.infer(image, { deadlineMs: 3000 })));
      await more;
      for (const { decoded } of replies) {
        expect(decoded.kind).toBe('response');
        expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: false });
      }
      await expect.poll(() => agent.auditCounts()?.received, { timeout: 5000 }).toBe(208);
      const counts = agent.auditCounts()!;
      expect(counts.queued).toBe(8);
      expect(counts.dropped.queueFull).toBe(192);
      // One upload at a time, never retried: still the one batch of 8.
      expect(inFlight(counts)).toBe(8);
      expect(counts.uploaded).toBe(0);
    });
  });

  it('the cloud breaker open: audits are dropped and counted, never queued', async () => {
    const options = {
      devices: [device],
      ...escalatingTo(UNREACHABLE_CLOUD_URL, 2),
      localBroker: { kind: 'embedded' as const, host: '127.0.0.1', mqttPort: 0, ...FAST_REPORTS },
    };
    await withAgentAndDevice(options, async ({ agent }, dev) => {
      for (const image of images.slice(0, 6)) await dev.infer(image, { deadlineMs: 2000 });
      expect(agent.breakerState).toBe('open');
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          dev.client.publishAsync(topics.report(device.id), Buffer.from(reportPayload(i))),
        ),
      );
      await expect.poll(() => agent.auditCounts()?.received, { timeout: 5000 }).toBe(20);
      expect(agent.auditCounts()).toMatchObject({ dropped: { cloudDown: 20 }, queued: 0, uploaded: 0 });
    });
  });
});

/** Audits taken by the upload in flight (neither queued nor dropped yet): at most one batch. */
function inFlight(c: {
  received: number;
  queued: number;
  dropped: { queueFull: number; uploadFailed: number };
}) {
  return c.received - c.queued - c.dropped.queueFull - c.dropped.uploadFailed;
}

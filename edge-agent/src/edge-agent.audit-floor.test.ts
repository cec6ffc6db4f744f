/**
 * The audit floor during a drift alarm, over real sockets: a real edge agent (embedded broker,
 * digits-large in onnxruntime as its model, one request per batch, a drift block in its config) saturated with requests by a device,
 * and an HTTP "cloud" that accepts every upload. Before the alarm a busy edge model holds every
 * audit back (shed first among optional work); once the devices' histograms raise the alarm, audits
 * leave at the floor (`auditFloorPerSec`) without the edge's pass, and every request is still
 * answered by the edge, on time and not degraded.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AuditBody,
  auditReport,
  encodeDeviceReport,
  histogramReportBody,
  topics,
} from '@fogline/shared';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentFixture } from './testing/agent-fixture.ts';
import { testDigits } from './testing/device-client.ts';
import { withAgentAndDevice } from './testing/with-agent.ts';

const device = { id: 'dev-1', token: 'tok-1' };
const FLOOR_PER_SEC = 20;
const { images } = testDigits(50);
const DRIFT = {
  score: 'margin',
  model: 'digits-tiny',
  version: 1,
  bins: [0, 0.5, 1],
  reference: [0.5, 0.5],
  records: 1000,
};
const audit = (i: number): AuditBody => ({
  id: `req-${i}`,
  time: Date.now(),
  rate: 0.2,
  model: 'digits-tiny:1',
  input: { name: 'input', datatype: 'FP32', shape: [1, 1, 28, 28], data: images[i % images.length]! },
  deviceOutputs: Array.from({ length: 10 }, () => 0),
  deviceScore: 0.5,
  tier: 'device',
});

let dir = '';
let cloud: Server;
let cloudUrl = '';
/** Audits the "cloud" received: with the edge's answer, and without (forwarded under the floor). */
const received = { withEdge: 0, withoutEdge: 0 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-audit-floor-'));
  // The large model at the edge, one request per batch: with 32 requests in flight it is never idle.
  await cp(join(DEFAULT_MODELS_DIR, 'digits-large'), join(dir, 'digits-large'), { recursive: true });
  const file = join(dir, 'digits-large', 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8'));
  await writeFile(file, JSON.stringify({ ...config, tier: 'edge', drift: DRIFT }));
  cloud = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/audits')) {
        res.writeHead(404).end('{}');
        return;
      }
      const { audits } = JSON.parse(Buffer.concat(chunks).toString()) as { audits: { edge: unknown }[] };
      for (const a of audits) received[a.edge === null ? 'withoutEdge' : 'withEdge']++;
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: audits.length, dropped: 0 }));
    });
  });
  await new Promise<void>((r) => cloud.listen(0, '127.0.0.1', r));
  cloudUrl = `http://127.0.0.1:${(cloud.address() as { port: number }).port}`;
});

afterAll(async () => {
  await new Promise((r) => cloud.close(r));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the audit floor during a drift alarm', () => {
  it('a saturated edge holds audits back until the alarm, then delivers them at the floor; requests never suffer', async () => {
    const options = {
      devices: [device],
      modelsDir: dir,
      model: 'digits-large',
      maxBatchSize: 1,
      cloudUrl,
      cloudModel: 'digits-large',
      routingThreshold: 0,
      auditFloorPerSec: FLOOR_PER_SEC,
      drift: { windowRequests: 500, calmWindows: 100 },
      localBroker: {
        kind: 'embedded' as const,
        host: '127.0.0.1',
        mqttPort: 0,
        reportRate: { ratePerSec: 100_000, burst: 100_000 },
        publishRate: { ratePerSec: 100_000, burst: 100_000 },
      },
    };
    await withAgentAndDevice(options, async ({ agent }: AgentFixture, dev) => {
      const report = (payload: Uint8Array) =>
        dev.client.publishAsync(topics.report(device.id), Buffer.from(payload));
      /** Keeps the edge model busy for `ms`: 32 requests in flight at all times; returns every reply. */
      const saturate = async (ms: number) => {
        const until = Date.now() + ms;
        const replies: Awaited<ReturnType<typeof dev.infer>>[] = [];
        await Promise.all(
          Array.from({ length: 32 }, async (_, k) => {
            for (let i = k; Date.now() < until; i += 32) {
              replies.push(await dev.infer(images[i % images.length]!, { deadlineMs: 5000 }));
            }
          }),
        );
        return replies;
      };
      const expectAnswered = (replies: Awaited<ReturnType<typeof dev.infer>>[]) => {
        expect(replies.length).toBeGreaterThan(20);
        for (const { decoded } of replies) {
          expect(decoded.kind).toBe('response');
          expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: false });
        }
      };

      // No alarm: audits arrive while the model is saturated and wait (shed first, never ahead of requests).
      const calm = saturate(2000);
      await Promise.all(
        Array.from({ length: 100 }, (_, i) => report(encodeDeviceReport(auditReport(audit(i))))),
      );
      expectAnswered(await calm);
      expect(agent.auditCounts()).toMatchObject({ received: 100, floor: 0 });
      // The model was busy throughout: most of them are still waiting for it.
      expect(agent.auditCounts()!.queued).toBeGreaterThan(50);

      // The devices' scores all land in one bin: the alarm goes up.
      const histogram = histogramReportBody({
        model: 'digits-tiny:1',
        score: 'margin',
        bins: DRIFT.bins,
        counts: [500, 0],
        count: 500,
        window_start_ms: Date.now() - 1000,
        window_end_ms: Date.now(),
      });
      await report(encodeDeviceReport({ kind: 'histogram', body: histogram }));
      await expect.poll(() => agent.driftStatus()?.alarm, { timeout: 5000 }).toBe(true);

      // Alarm up, model still saturated: audits leave at the floor, without the edge's pass.
      const before = agent.auditCounts()!.floor;
      const seconds = 3;
      expectAnswered(await saturate(seconds * 1000));
      const floored = agent.auditCounts()!.floor - before;
      // The burst, then FLOOR_PER_SEC per second (lenient for a loaded box), never more than the bucket allows.
      expect(floored).toBeGreaterThanOrEqual(FLOOR_PER_SEC * 2);
      expect(floored).toBeLessThanOrEqual(FLOOR_PER_SEC * (seconds + 2));
      await expect.poll(() => received.withoutEdge, { timeout: 5000 }).toBeGreaterThanOrEqual(floored);
    });
  }, 60_000);
});

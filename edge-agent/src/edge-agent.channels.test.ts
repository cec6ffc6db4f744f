/**
 * The edge's side of the F7 channels over real sockets: routing changed at run time, the devices'
 * policy published retained on the embedded broker, and the report channel flooded while requests
 * are served. The devices here are today's (they never subscribe to the policy topic).
 */
import { encodeDeviceReport, readPolicyMessage, topics } from '@fogline/shared';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { UNREACHABLE_CLOUD_URL } from './testing/agent-fixture.ts';
import { testDigits } from './testing/device-client.ts';
import { withAgentAndDevice } from './testing/with-agent.ts';

const device = { id: 'dev-1', token: 'tok-1' };
const other = { id: 'dev-2', token: 'tok-2' };
/** A plain MQTT client of the edge's device `id` (the test device client reads only replies). */
const plainDevice = (url: string, d: typeof other) =>
  mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: d.id,
    username: d.id,
    password: d.token,
    reconnectPeriod: 0,
  });
const { images } = testDigits(20);
const lines: string[] = [];
const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };

describe('routing at run time', () => {
  it('routes the next request by the policy set, records and logs each change', async () => {
    lines.length = 0;
    // A cloud that is down: an escalation shows as a degraded edge answer.
    const options = { devices: [device], cloudUrl: UNREACHABLE_CLOUD_URL, routingThreshold: 0, logger };
    await withAgentAndDevice(options, async ({ agent, info }, dev) => {
      const initial = info.routing;
      const before = await dev.infer(images[0]!, { deadlineMs: 2000 });
      expect(before.decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: false });

      const set = agent.setRouting({ score: 'entropy', threshold: 1.01 });
      expect(agent.routing).toEqual(set);
      const after = await dev.infer(images[0]!, { deadlineMs: 2000 });
      expect(after.decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: true });

      // Invalid policies change nothing.
      expect(() => agent.setRouting({ score: 'maxprob', threshold: 1.5 })).toThrow(/threshold/);
      expect(() => agent.setRouting({ score: 'logit' as 'maxprob', threshold: 0.5 })).toThrow(/score/);
      expect(agent.routing).toEqual(set);

      const history = agent.routingHistory();
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({
        target: 'edge',
        from: { score: initial.score, threshold: 0 },
        to: { score: 'entropy', threshold: 1.01 },
      });
      expect(history[0]!.at).toBeInstanceOf(Date);
      expect(lines.filter((l) => l.startsWith('routing:'))).toEqual([
        `routing: edge policy ${initial.score} >= 0 → entropy >= 1.01`,
      ]);
    });
  });
});

describe('device policy publishing', () => {
  it("publishes a retained, versioned message today's devices never see; they keep being served", async () => {
    await withAgentAndDevice(
      { devices: [device, other], routingThreshold: 0, deviceModel: 'digits-tiny:1' },
      async ({ agent, url }, dev) => {
        const first = await agent.publishDevicePolicy(
          { score: 'margin', threshold: 0.4 },
          { auditRate: 0.02 },
        );
        const second = await agent.publishDevicePolicy({ score: 'margin', threshold: 0.5 });
        expect(second.version).toBeGreaterThan(first.version);
        await expect(agent.publishDevicePolicy({ score: 'margin', threshold: 2 })).rejects.toThrow(
          /threshold/,
        );
        await expect(
          agent.publishDevicePolicy({ score: 'margin', threshold: 0.5 }, { auditRate: 3 }),
        ).rejects.toThrow(/audit_rate/);

        // A late subscriber among the edge's devices gets the latest, retained.
        const late = await plainDevice(url, other);
        const got: Uint8Array[] = [];
        late.on('message', (topic, payload) => {
          if (topic === topics.policy('edge-test')) got.push(payload);
        });
        await late.subscribeAsync(topics.policy('edge-test'), { qos: 1 });
        await expect.poll(() => got.length).toBe(1);
        await late.endAsync();
        const reading = readPolicyMessage(got[0]!, { edge: 'edge-test', model: 'digits-tiny:1' });
        expect(reading).toEqual({ ok: true, message: second });

        const history = agent
          .routingHistory()
          .map((c) => [c.target, c.from?.threshold, c.to.threshold, c.version]);
        expect(history).toEqual([
          ['devices', undefined, 0.4, first.version],
          ['devices', 0.4, 0.5, second.version],
        ]);
        // Today's device: requests answered as before.
        const { decoded } = await dev.infer(images[1]!, { deadlineMs: 2000 });
        expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: false });
      },
    );
  });

  it('needs to know the device model the policy is for', async () => {
    await withAgentAndDevice({ devices: [device] }, async ({ agent }) => {
      await expect(agent.publishDevicePolicy({ score: 'margin', threshold: 0.4 })).rejects.toThrow(
        /device model/,
      );
      expect(agent.routingHistory()).toEqual([]);
    });
  });
});

describe('reports from devices', () => {
  it('answers every request on time while a device floods reports; reports over budget are dropped, counted and in the metrics', async () => {
    await withAgentAndDevice(
      {
        devices: [device, other],
        routingThreshold: 0,
        metrics: { port: 0 },
        localBroker: {
          kind: 'embedded',
          host: '127.0.0.1',
          mqttPort: 0,
          publishRate: { ratePerSec: 10_000, burst: 10_000 },
          reportRate: { ratePerSec: 5, burst: 20 },
        },
      },
      async ({ agent, url, info }, dev) => {
        const seen: string[] = [];
        agent.onReport((deviceId, report) => seen.push(`${deviceId}:${report.kind}`));
        const report = Buffer.from(encodeDeviceReport({ kind: 'histogram', body: { bins: [1, 2, 3] } }));
        let flooding = true;
        let sent = 0;
        const flood = (async () => {
          // At least 1000 reports, and on until the last request is answered.
          while (flooding || sent < 1000) {
            for (let i = 0; i < 50; i++, sent++)
              dev.client.publish(topics.report('dev-1'), report, { qos: 0 });
            await new Promise((r) => setImmediate(r));
          }
        })();
        const started = Date.now();
        const deadlineMs = 1000;
        const replies = [];
        for (let round = 0; round < 10; round++) {
          replies.push(
            ...(await Promise.all(images.slice(0, 5).map((image) => dev.infer(image, { deadlineMs })))),
          );
        }
        flooding = false;
        await flood;
        const elapsedS = (Date.now() - started) / 1000;
        for (const { decoded, elapsedMs } of replies) {
          expect(decoded.kind).toBe('response');
          expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: false });
          expect(elapsedMs).toBeLessThan(deadlineMs);
        }
        // dev-1's bucket is empty now; another device's reports are read, unknown kinds counted apart.
        const second = await plainDevice(url, other);
        await second.publishAsync(topics.report('dev-2'), '{"kind":"weather","body":{}}', { qos: 1 });
        await second.publishAsync(topics.report('dev-2'), '{"kind":"audit"}', { qos: 1 });
        await expect.poll(() => agent.reportCounts().unknownKind + agent.reportCounts().malformed).toBe(2);
        expect(agent.reportCounts()).toMatchObject({ unknownKind: 1, malformed: 1 });
        await second.endAsync();
        const counts = agent.reportCounts();
        expect(sent).toBeGreaterThanOrEqual(1000);
        expect(counts.dropped).toBeGreaterThan(sent / 2);
        // The bucket: its burst plus what it refilled meanwhile, never more.
        expect(counts.accepted.histogram).toBeGreaterThanOrEqual(20);
        expect(counts.accepted.histogram).toBeLessThanOrEqual(20 + Math.ceil(5 * (elapsedS + 1)));
        expect(seen.length).toBe(counts.accepted.histogram);
        expect(seen[0]).toBe('dev-1:histogram');
        expect(agent.telemetry().counts.received).toBe(50);
        // ...and so does the cloud: the edge's telemetry carries the same counts.
        expect(agent.telemetry().reports).toEqual({ ...counts, accepted: { ...counts.accepted } });
        // Not silent: an operator sees the drops on /metrics (a device flooding, or an older SDK's).
        const metrics = await (await fetch(`http://127.0.0.1:${info.metrics!.port}/metrics`)).text();
        expect(metrics).toContain(`fogline_edge_reports_dropped_total ${counts.dropped}`);
        expect(metrics).toContain(
          `fogline_edge_reports_total{kind="histogram"} ${counts.accepted.histogram}`,
        );
      },
    );
  });
});

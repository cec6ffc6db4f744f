/**
 * The edge's `/metrics` (docs/edge-agent.md "Metrics") on a real agent serving a real device over
 * MQTT: the counts it answered, the cloud's names where they mean the same, and Prometheus's own
 * linter (`promtool check metrics`; skipped without promtool unless FOGLINE_REQUIRE_PROMTOOL=1, as
 * the cloud's test). Beyond loopback it needs a token, and refuses to start without one.
 */
import { spawnSync } from 'node:child_process';
import { encodeInferMessage, topics } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { startTestAgent } from './testing/agent-fixture.ts';
import { testDigits } from './testing/device-client.ts';
import { withAgentAndDevice } from './testing/with-agent.ts';

const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = probe.error === undefined && probe.status === 0;
const required = process.env.FOGLINE_REQUIRE_PROMTOOL === '1';
const device = { id: 'dev-1', token: 'tok-1' };
const { images } = testDigits(4);

describe('edge /metrics', { timeout: 60_000 }, () => {
  it('counts what the edge answered, under the cloud’s names where they mean the same, and passes promtool', async () => {
    await withAgentAndDevice({ devices: [device], metrics: { port: 0 } }, async (fixture, dev) => {
      for (const image of images) await dev.infer(image, { deadlineMs: 5000 });
      const bad = encodeInferMessage({ id: 'bad', parameters: { reply_to: topics.reply(device.id) } }, [
        { name: 'image', datatype: 'FP32', shape: [1, 784], data: images[0]! },
      ]);
      await dev.publishRaw(bad);
      await dev.reply('bad', 5000);

      const metrics = fixture.info.metrics!;
      expect(metrics.host).toBe('127.0.0.1');
      const url = `http://127.0.0.1:${metrics.port}`;
      const res = await fetch(`${url}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(text).toContain('fogline_edge_requests_received_total 5');
      expect(text).toContain('fogline_edge_answers_total{by="edge"} 4');
      expect(text).toContain('fogline_edge_errors_total{code="INVALID_ARG"} 1');
      expect(text).toContain('fogline_edge_devices 1');
      expect(text).toContain('fogline_model_ready{model="digits-mid-int8",version="1"} 1');
      expect(text).toContain(
        'fogline_inference_request_duration_seconds_count{model="digits-mid-int8",version="1"} 5',
      );
      expect(text).toMatch(/fogline_process_resident_memory_bytes \d+/);
      expect(text).toContain('fogline_edge_breaker_state{state="closed"} 1');
      expect((await fetch(`${url}/other`)).status).toBe(404);

      if (hasPromtool || required) {
        expect(hasPromtool, 'promtool is required (FOGLINE_REQUIRE_PROMTOOL=1) but not on PATH').toBe(true);
        const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
        expect({ status: check.status, findings: `${check.stdout}${check.stderr}`.trim() }).toEqual({
          status: 0,
          findings: '',
        });
      } else {
        console.warn('edge-metrics.test: promtool not found; skipping `promtool check metrics`');
      }
    });
  });

  it('beyond loopback: refuses to start without a token, and answers 401 without it', async () => {
    await expect(startTestAgent({ metrics: { port: 0, host: '0.0.0.0' } })).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/open to the network: set a token/),
    });
    const fixture = await startTestAgent({ metrics: { port: 0, host: '0.0.0.0', token: 's3cret' } });
    try {
      const url = `http://127.0.0.1:${fixture.info.metrics!.port}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: 'Bearer s3cret' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('fogline_edge_requests_received_total 0');
    } finally {
      await fixture.stop();
    }
  });
});

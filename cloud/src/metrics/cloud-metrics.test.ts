/**
 * The gateway's /metrics exposition passes Prometheus's own linter, `promtool check metrics`, with
 * no findings, on a real CloudServer that has answered successes, model errors and unknown models.
 * promtool comes with Debian's `prometheus` package (.ci/run installs it); where it is absent the
 * test is skipped with the reason logged, unless FOGLINE_REQUIRE_PROMTOOL=1 (set by .ci/run), which
 * turns its absence into a failure.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  digits,
  jsonInferBody,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '../testing/cloud-fixture.ts';

const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = probe.error === undefined && probe.status === 0;
const required = process.env.FOGLINE_REQUIRE_PROMTOOL === '1';
if (!hasPromtool && !required) {
  console.warn(
    'cloud-metrics.test: promtool not found (apt-get install prometheus); skipping `promtool check metrics`',
  );
}

let cloud: RunningCloud;

beforeAll(async () => {
  cloud = await startCloud({
    modelsDir: makeModelRepo(['digits-tiny']),
    auth: false,
    serving: { workers: 1, intraOpThreads: 1 },
  });
  const infer = (model: string, body: string) =>
    fetch(`${cloud.url}/v2/models/${model}/infer`, { method: 'POST', body });
  expect((await infer('digits-tiny', jsonInferBody(digits(3).images))).status).toBe(200);
  expect((await infer('digits-tiny', '{"inputs": [')).status).toBe(400);
  expect((await infer('nope', '{}')).status).toBe(404);
});
afterAll(() => cloud?.stop());

describe('/metrics', () => {
  it.skipIf(!hasPromtool && !required)('passes `promtool check metrics` with no findings', async () => {
    expect(hasPromtool, 'promtool is required (FOGLINE_REQUIRE_PROMTOOL=1) but not on PATH').toBe(true);
    const text = await (await fetch(`${cloud.url}/metrics`)).text();
    expect(text).toMatch(
      /fogline_inference_requests_total\{model="digits-tiny",version="1",status="200"\} 1/,
    );
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, findings: `${check.stdout}${check.stderr}`.trim() }).toEqual({
      status: 0,
      findings: '',
    });
  });
});

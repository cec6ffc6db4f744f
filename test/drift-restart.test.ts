/**
 * The drift alarm's audit rate across an edge restart (docs/field-accuracy.md "Drift"): a real edge
 * agent (embedded broker on a fixed port, a data dir kept across the restart, a drift block in its
 * configs) and a real SDK device. The devices' histograms raise the alarm and the device audits at
 * 0.2; the edge is stopped during the alarm and started again. Its broker kept nothing (the retained
 * policy message was in memory), its monitor starts calm, and the device reconnects still holding
 * 0.2: the restarted edge must tell it the calm rate it actually wants, with drift still on or
 * turned off meanwhile.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDevice, type Device } from '@fogline/device-sdk';
import {
  type AgentFixture,
  connectAgentDevice,
  startTestAgent,
  type TestAgentOptions,
} from '@fogline/edge-agent/testing';
import { encodeDeviceReport, histogramReportBody, topics } from '@fogline/shared';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { freePort } from '@fogline/shared/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DRIFT = {
  score: 'margin',
  model: 'digits-tiny',
  version: 1,
  bins: [0, 0.5, 1],
  reference: [0.5, 0.5],
  records: 1000,
};
const device = { id: 'dev-1', token: 'tok-1' };
const reporter = { id: 'dev-2', token: 'tok-2' };
let dir = '';
let options: TestAgentOptions;
let fixture: AgentFixture | undefined;
let sdk: Device | undefined;
const states: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-drift-restart-'));
  const models = join(dir, 'models');
  for (const name of ['digits-tiny', 'digits-mid-int8']) {
    await cp(join(DEFAULT_MODELS_DIR, name), join(models, name), { recursive: true });
    const file = join(models, name, 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...config, drift: DRIFT }, null, 2));
  }
  const port = await freePort();
  options = {
    devices: [device, reporter],
    dataDir: join(dir, 'data'),
    modelsDir: models,
    drift: { windowRequests: 500, calmWindows: 100 },
    localBroker: { kind: 'embedded', host: '127.0.0.1', mqttPort: port },
  };
}, 60_000);

afterAll(async () => {
  await sdk?.close();
  await fixture?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Another device's histogram puts every score in one bin: the alarm goes up, the device audits at 0.2. */
async function raiseAlarm(): Promise<void> {
  const dev = await connectAgentDevice(fixture!, reporter);
  const histogram = histogramReportBody({
    model: 'digits-tiny:1',
    score: 'margin',
    bins: DRIFT.bins,
    counts: [500, 0],
    count: 500,
    window_start_ms: Date.now() - 1000,
    window_end_ms: Date.now(),
  });
  await dev.client.publishAsync(
    topics.report(reporter.id),
    Buffer.from(encodeDeviceReport({ kind: 'histogram', body: histogram })),
  );
  await expect.poll(() => fixture!.agent.driftStatus()?.alarm, { timeout: 5000 }).toBe(true);
  await expect.poll(() => sdk!.policy.auditRate, { timeout: 5000 }).toBe(0.2);
  await dev.close();
  const record = join(options.dataDir!, 'drift-alarm.json');
  await expect.poll(() => existsSync(record), { timeout: 5000 }).toBe(true);
}

describe('the drift alarm and an edge restart', () => {
  it('a device holding the alarm rate gets the calm rate from the restarted edge', async () => {
    fixture = await startTestAgent(options);
    sdk = await connectDevice({
      broker: fixture.url,
      deviceId: device.id,
      token: device.token,
      edgeId: fixture.info.edgeId,
      model: join(dir, 'models', 'digits-tiny', '1', 'model.onnx'),
      runtime: 'node',
      driftHistogram: false,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
      onStateChange: (s) => states.push(s),
    });
    await raiseAlarm();
    const record = join(options.dataDir!, 'drift-alarm.json');

    // Stopped during the alarm, started again on the same data dir and port.
    await fixture.agent.stop();
    fixture = await startTestAgent(options);
    expect(fixture.agent.driftStatus()?.alarm).toBe(false);
    await expect.poll(() => sdk!.policy.auditRate, { timeout: 10_000 }).toBe(0.02);
    expect(states.filter((s) => s === 'online').length).toBeGreaterThanOrEqual(2); // reconnected, no restart
    expect(fixture.agent.auditRate()).toEqual({ rate: 0.02, source: 'edge' });
    // The alarm's rate is off the devices: nothing left to send at the next start.
    await expect.poll(() => existsSync(record), { timeout: 5000 }).toBe(false);
  }, 60_000);

  it('an edge restarted with drift turned off during an alarm sends the calm rate and drops the record', async () => {
    await raiseAlarm();
    const record = join(options.dataDir!, 'drift-alarm.json');
    await fixture!.agent.stop();
    fixture = await startTestAgent({ ...options, drift: false });
    expect(fixture.agent.driftStatus()).toBeUndefined();
    await expect.poll(() => sdk!.policy.auditRate, { timeout: 10_000 }).toBe(0.02);
    await expect.poll(() => existsSync(record), { timeout: 5000 }).toBe(false);
    expect(fixture.agent.auditRate()).toEqual({ rate: 0.02, source: 'edge' });
  }, 60_000);
});

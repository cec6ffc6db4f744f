/**
 * F7 drift detection end to end on real sockets: a real edge agent (embedded broker, digits-mid-int8
 * in onnxruntime) and a real SDK device (digits-tiny) on a temp copy of the repository whose configs
 * carry a drift block cut by the core's `quantileEdges` from digits-tiny's margins on the calibration
 * split. In-distribution test digits raise no alarm; inverted ones raise it within one window, and
 * the connected device's audit rate becomes 0.2 without reconnecting; back to the test digits, the
 * alarm clears after the calm windows and the audit rate goes back. The edge has published no policy,
 * so the alarm sends the audit rate alone: each device keeps its own routing, a device whose
 * application escalates everything goes on escalating everything.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { type AgentFixture, startTestAgent } from '@fogline/edge-agent/testing';
import { ALWAYS_ESCALATE_THRESHOLD, PSI_ALARM, scoreLogitRows } from '@fogline/shared';
import { predictSplit } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { driftReferenceOf } from '@fogline/toolchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digitStream, inferAll as inferDigits } from './support/digit-stream.ts';

const WINDOW = 500;
const credential = { id: 'dev-1', token: 'tok-1' };
/** A device whose application escalates everything (not pinned): it sends no histograms. */
const escalating = { id: 'dev-2', token: 'tok-2' };
const ESCALATE = { score: 'margin', threshold: ALWAYS_ESCALATE_THRESHOLD } as const;
/**
 * The device's report budget and the edge's report bucket, opened: this test counts windows of exact
 * histograms (250 inferences each, up to ~15/s here), which a default budget (2/s) would hold back and
 * merge (nothing lost, but the windows would no longer be 500). The budgets have their own test
 * (device-sdk/src/device-report-budget.test.ts).
 */
const OPEN = { ratePerSec: 10_000, burst: 10_000 };
const HOUR_MS = 3_600_000;
let dir = '';
let fixture: AgentFixture;
let device: Device;
let escalator: Device;
const states: string[] = [];
const lines: string[] = [];
const alarms: boolean[] = [];

const inferAll = (images: readonly Float32Array[]) => inferDigits(device, images, 5000);

/** Inferences the edge has summed: closed windows and the open one. */
const counted = () => {
  const s = fixture.agent.driftStatus()!;
  return s.windows.reduce((a, w) => a + w.count, 0) + s.open.count;
};
/** Runs `images` through the device and waits until the edge has every histogram of them. */
async function phase(images: readonly Float32Array[]): Promise<void> {
  const before = counted();
  await inferAll(images);
  await expect.poll(counted, { timeout: 15_000 }).toBe(before + images.length);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-drift-'));
  const models = join(dir, 'models');
  for (const name of ['digits-tiny', 'digits-mid-int8']) {
    await cp(join(DEFAULT_MODELS_DIR, name), join(models, name), { recursive: true });
  }
  // The drift block as `fogline calibrate` writes it: digits-tiny's margin on the calibration split.
  const tiny = join(models, 'digits-tiny', '1', 'model.onnx');
  const calibration = await predictSplit(tiny, 'calibration');
  const { scores } = scoreLogitRows(calibration.logits, calibration.classes, 'margin');
  const drift = driftReferenceOf(scores, 'margin', { name: 'digits-tiny', version: 1 });
  for (const name of ['digits-tiny', 'digits-mid-int8']) {
    const file = join(models, name, 'config.json');
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), drift }, null, 2));
  }
  // No cloud: the edge answers what it gets.
  fixture = await startTestAgent({
    devices: [credential, escalating],
    modelsDir: models,
    routingThreshold: 0,
    drift: { windowRequests: WINDOW, calmWindows: 2 },
    localBroker: { kind: 'embedded', host: '127.0.0.1', mqttPort: 0, publishRate: OPEN, reportRate: OPEN },
    logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
  });
  fixture.agent.onDriftAlarm((alarm) => alarms.push(alarm));
  device = await connectDevice({
    broker: fixture.url,
    deviceId: credential.id,
    token: credential.token,
    edgeId: fixture.info.edgeId,
    model: tiny,
    runtime: 'node',
    // Histograms of exactly 250 inferences: two make a window of the edge. The time cut (a partial
    // window every `everyMs`, default 10 s) is pushed past the test: on a loaded machine the phases
    // outlast 10 s, and a partial histogram makes the edge's windows longer than 500, so fewer of them
    // (the time cut has its own test: device-sdk/src/score-histogram.test.ts).
    driftHistogram: { everyRequests: 250, everyMs: HOUR_MS },
    auditBudget: OPEN,
    onStateChange: (s) => states.push(s),
  });
  escalator = await connectDevice({
    broker: fixture.url,
    deviceId: escalating.id,
    token: escalating.token,
    edgeId: fixture.info.edgeId,
    model: tiny,
    runtime: 'node',
    policy: ESCALATE,
    driftHistogram: false,
  });
}, 60_000);

afterAll(async () => {
  await escalator?.close();
  await device?.close();
  await fixture?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('drift detection, device histograms → edge PSI alarm', () => {
  it('sends histograms because its config has a drift block for its model', () => {
    expect(device.sendsHistograms).toBe(true);
    expect(fixture.agent.driftStatus()).toMatchObject({
      model: 'digits-tiny:1',
      score: 'margin',
      alarm: false,
    });
  });

  it('in-distribution digits: windows of >= 500 below the alarm, no alarm', async () => {
    await phase(digitStream(2 * WINDOW, 1));
    const status = fixture.agent.driftStatus()!;
    expect(status.windows.map((w) => [w.count, w.psi < PSI_ALARM])).toEqual([
      [WINDOW, true],
      [WINDOW, true],
    ]);
    expect(status).toMatchObject({ alarm: false, alarms: 0, refused: { malformed: 0, 'other-model': 0 } });
    expect(device.policy.auditRate).toBeUndefined();
  });

  it('inverted digits: alarm within two windows, audit rate 0.2 on the device without reconnecting', async () => {
    const before = fixture.agent.driftStatus()!.windowsClosed;
    await phase(digitStream(2 * WINDOW, 2, (x) => 1 - x));
    const status = fixture.agent.driftStatus()!;
    expect(status.alarm).toBe(true);
    expect(status.events).toHaveLength(1);
    const raisedBy =
      status.windows.findIndex((w) => w.alarm) + (status.windowsClosed - status.windows.length);
    expect(raisedBy - before).toBeLessThan(2);
    expect(status.events[0]!.psi).toBeGreaterThan(PSI_ALARM);
    expect(lines.filter((l) => l.startsWith('drift: alarm on'))).toHaveLength(1);
    await expect.poll(() => device.policy.auditRate, { timeout: 1000 }).toBe(0.2);
    // The routing itself stays each device's own: the config's, and the application's that escalates
    // everything (the calibrated policy in its place would have it answer alone on drifted inputs).
    expect(device.policy).toMatchObject({ source: 'config', score: 'margin' });
    await expect.poll(() => escalator.policy.auditRate, { timeout: 1000 }).toBe(0.2);
    expect(escalator.policy).toMatchObject({ ...ESCALATE, source: 'option' });
    expect(await escalator.infer(digitStream(1, 2, (x) => 1 - x)[0]!, { deadlineMs: 5000 })).toMatchObject({
      tier: 'edge',
      degraded: false,
    });
    expect(fixture.agent.telemetry().drift).toMatchObject({ model: 'digits-tiny:1', alarm: true, alarms: 1 });
    expect(states).toEqual(['online']);
  });

  it('back in distribution: the alarm clears after two calm windows, the audit rate goes back', async () => {
    await phase(digitStream(3 * WINDOW, 3));
    const status = fixture.agent.driftStatus()!;
    // Calm, calm (off: two calm windows in a row), calm.
    expect(status.windows.slice(4).map((w) => [w.psi <= PSI_ALARM, w.alarm])).toEqual([
      [true, true],
      [true, false],
      [true, false],
    ]);
    expect(status).toMatchObject({ alarm: false, alarms: 1 });
    expect(alarms).toEqual([true, false]);
    await expect.poll(() => device.policy.auditRate, { timeout: 1000 }).toBe(0.02);
    expect(escalator.policy).toMatchObject({ ...ESCALATE, source: 'option', auditRate: 0.02 });
    expect(states).toEqual(['online']);
    expect(fixture.agent.reportCounts()).toMatchObject({ malformed: 0, dropped: 0 });
  });
});

/**
 * The closed loop end to end on real sockets (docs/field-accuracy.md "The controller, wired"): a real
 * CloudServer (PGlite, digits-large, controller on every 300 ms), a real edge agent (embedded broker,
 * digits-mid-int8, telemetry and desired state over the cloud broker, audits over HTTP) and a real
 * SDK device (digits-tiny) on a temp copy of the repository whose configs carry a drift block with
 * the calibration baseline. In-distribution digits change nothing and the desired state has no
 * routing block; rotated digits raise the edge's drift alarm, the controller's conservative policy
 * reaches the edge and the connected device (no reconnect) and is listed in the API; an operator's pin
 * reaches them too and stops the controller; unpinned, the controller acts again.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import { scoreLogitRows } from '@fogline/shared';
import { collectStream, DIGIT_PIXELS, predictSplit, SHIFT_PRESETS } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { driftReferenceOf } from '@fogline/toolchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../cli/src/testing/run-fogline.ts';
import { digitStream, inferAll as inferDigits } from './support/digit-stream.ts';

const EDGE = 'loop-edge';
const WINDOW = 500;
let dir = '';
let cloud: FabricCloud;
let agent: EdgeAgent;
let device: Device;
const states: string[] = [];
const lines: string[] = [];

/** `count` test digits turned 25–40° (the `rotated` shift: the large model still reads them at ~92 %). */
function rotated(count: number, seed: number): Float32Array[] {
  const { images } = collectStream({ seed, segments: [{ count, shift: SHIFT_PRESETS.rotated }] });
  return Array.from({ length: count }, (_, i) => images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS));
}

const inferAll = (images: readonly Float32Array[]) => inferDigits(device, images, 10_000);

async function admin<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${cloud.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${cloud.ready.adminToken.token}`, 'content-type': 'application/json' },
  });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body as T;
}

// biome-ignore lint/suspicious/noExplicitAny: the admin API's JSON as returned
type Json = Record<string, any>;
const changes = async () => (await admin<{ changes: Json[] }>(`/api/edges/${EDGE}/policy/changes`)).changes;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-loop-'));
  const models = join(dir, 'models');
  for (const name of ['digits-tiny', 'digits-mid-int8']) {
    await cp(join(DEFAULT_MODELS_DIR, name), join(models, name), { recursive: true });
  }
  const tiny = join(models, 'digits-tiny', '1', 'model.onnx');
  const calibration = await predictSplit(tiny, 'calibration');
  const { scores } = scoreLogitRows(calibration.logits, calibration.classes, 'margin');
  const drift = {
    ...driftReferenceOf(scores, 'margin', { name: 'digits-tiny', version: 1 }),
    baseline: { disagreement: 0.003, edgeAgreement: 0.97, cloudAccuracy: 0.99 },
  };
  for (const name of ['digits-tiny', 'digits-mid-int8']) {
    const file = join(models, name, 'config.json');
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), drift }, null, 2));
  }
  cloud = await startFabricCloud({
    models: ['digits-large'],
    cloudModel: 'digits-large',
    controller: {
      enabled: true,
      intervalMs: 300,
      cloudBudget: 0.5,
      window: { maxRecords: 10_000, maxAgeMs: 3_600_000 },
      knobs: { minRecords: 50 },
    },
  });
  const edge = await cloud.admin.createEdge(EDGE);
  const { token } = await cloud.admin.createDevice('dev-1', EDGE);
  agent = createEdgeAgent({
    edgeId: EDGE,
    token: edge.token,
    cloudUrl: cloud.url,
    cloudBrokerUrl: cloud.mqttUrl,
    cloudModel: 'digits-large',
    deviceModel: 'digits-tiny:1',
    modelsDir: models,
    model: 'digits-mid-int8',
    localBroker: {
      kind: 'embedded',
      host: '127.0.0.1',
      mqttPort: 0,
      reportRate: { ratePerSec: 10_000, burst: 10_000 },
    },
    telemetryIntervalMs: 200,
    drift: { windowRequests: WINDOW, calmWindows: 2 },
    auditInputs: 'drop',
    dataDir: join(dir, 'edge'),
    workers: 1,
    intraOpThreads: 1,
    logger: { info: (m) => lines.push(m), warn: (m) => lines.push(m) },
  });
  const info = await agent.start();
  await eventually(() => agent.deviceListVersion !== undefined, 10_000);
  device = await connectDevice({
    broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
    deviceId: 'dev-1',
    token,
    edgeId: EDGE,
    model: tiny,
    runtime: 'node',
    auditSeed: 7,
    auditBudget: { ratePerSec: 10_000, burst: 10_000 },
    driftHistogram: { everyRequests: 250 },
    onStateChange: (s) => states.push(s),
  });
  agent.setRouting({ score: 'margin', threshold: 0.4 });
  const policy = await agent.publishDevicePolicy({ score: 'margin', threshold: 0.3 }, { auditRate: 0.2 });
  await eventually(() => device.policy.edgeVersion === policy.version, 5_000);
}, 120_000);

afterAll(async () => {
  if (process.env.LOOP_DEBUG) {
    console.log(lines.join('\n'));
    console.log(JSON.stringify(await admin(`/api/edges/${EDGE}/policy`), null, 1));
    console.log(JSON.stringify(agent.driftStatus()?.windows.map((w) => [w.count, w.psi])));
  }
  await device?.close();
  await agent?.stop().catch(() => {});
  await cloud?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the closed loop: drift alarm → controller → edge and device', () => {
  it('in distribution: field accuracy from the audits, no change, no routing block in the desired state', async () => {
    await inferAll(digitStream(WINDOW, 1));
    await eventually(async () => (await admin<Json>(`/api/edges/${EDGE}/field`)).field.records >= 40, 30_000);
    const field = await admin<Json>(`/api/edges/${EDGE}/field`);
    expect(field).toMatchObject({ edge: EDGE, online: true, drift_alarm: false, pinned: false });
    expect(field.field.tiers.cloud.agreement).toBe(1);
    expect(field.field.tiers.edge.agreement).toBeGreaterThan(0.8);
    expect(field.field.tiers.edge.low).toBeLessThan(field.field.tiers.edge.agreement);
    expect(field.field.audit_rate).toBeCloseTo(0.2);
    expect(field.policy).toEqual({
      device: { score: 'margin', threshold: 0.3 },
      edge: { score: 'margin', threshold: 0.4 },
    });
    const metrics = await (await fetch(`${cloud.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`fogline_field_records\\{edge="${EDGE}"\\} \\d+`));
    expect(metrics).toMatch(new RegExp(`fogline_field_agreement_low\\{edge="${EDGE}",tier="edge"\\}`));
    // Prometheus's own linter on the exposition with field series in it (where promtool is installed).
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    if (promtool.error === undefined) {
      expect(`${promtool.stdout}${promtool.stderr}`.trim()).toBe('');
    }
    expect(await changes()).toEqual([]);
    expect((await cloud.server.fabric.publisher.current(EDGE))?.message.routing).toBeUndefined();
    expect(agent.routing).toEqual({ score: 'margin', threshold: 0.4 });
    expect(device.policy.threshold).toBe(0.3);
  }, 90_000);

  it('rotated digits: the alarm brings the conservative policy to the edge and the device, without reconnecting', async () => {
    const connects = states.length;
    // The first window raises the alarm; the second brings the records (at p = 0.2) the fallback is
    // placed on: the score quantiles of at least 40 records since the alarm.
    await inferAll(rotated(2 * WINDOW, 2));
    await eventually(async () => (await changes()).length > 0, 30_000);
    // Bounded steps, re-placed as the alarm's records arrive: wait for the latest to reach both tiers
    // and the controller to hold on it.
    let to: Json = {};
    await eventually(async () => {
      to = (await changes())[0]!.to;
      const applied =
        Math.abs(device.policy.threshold - to.device.threshold) < 1e-9 &&
        Math.abs((agent.routing?.threshold ?? 0) - to.edge.threshold) < 1e-9;
      return applied && (await admin<Json>(`/api/edges/${EDGE}/policy`)).last_decision?.action === 'hold';
    }, 30_000);
    expect(to.device.threshold).toBeGreaterThan(0.3);
    expect(states.length).toBe(connects);
    const all = await changes();
    expect(all.every((c) => c.source === 'controller' && c.action === 'conservative')).toBe(true);
    const change = all.at(-1);
    expect(change).toMatchObject({
      from: { device: { threshold: 0.3 }, edge: { threshold: 0.4 } },
      to: { device: { score: 'margin' }, edge: { score: 'margin' } },
    });
    expect(change?.why).toMatch(/drift alarm.*score quantiles/);
    // The edge reports the directive it applied in its telemetry.
    // (Audits still arriving may re-place the fallback once more: compare with the latest change.)
    await eventually(async () => {
      const p = await admin<Json>(`/api/edges/${EDGE}/policy`);
      const latest = (await changes())[0]!.to;
      return p.current?.applied === p.desired?.id && p.current?.device?.threshold === latest.device.threshold;
    }, 15_000);
    const policy = await admin<Json>(`/api/edges/${EDGE}/policy`);
    expect(policy).toMatchObject({ conservative: true, pinned: false });
    expect(lines.some((l) => l.includes("applied the cloud's policy"))).toBe(true);
  }, 90_000);

  it('a pin reaches the edge and the device and stops the controller; unpinned, it decides again', async () => {
    await admin(`/api/edges/${EDGE}/policy`, {
      method: 'PUT',
      body: JSON.stringify({
        device: { score: 'margin', threshold: 0.2 },
        edge: { score: 'margin', threshold: 0.3 },
        reason: 'operator test',
      }),
    });
    await eventually(() => Math.abs(device.policy.threshold - 0.2) < 1e-9, 15_000);
    await eventually(() => agent.routing?.threshold === 0.3, 10_000);
    // The alarm is still on and the pinned policy is not conservative: unpinned, the controller would act.
    const pinnedAt = (await changes()).length;
    await new Promise((r) => setTimeout(r, 2_000));
    const log = (await changes()).map((c) => `${c.source}:${c.action}`);
    expect(log).toHaveLength(pinnedAt);
    expect(log[0]).toBe('operator:pin');
    expect(log.slice(1).every((c) => c === 'controller:conservative')).toBe(true);
    expect((await admin<Json>(`/api/edges/${EDGE}/policy`)).last_decision.why).toMatch(/pinned/);
    expect(device.policy.threshold).toBe(0.2);

    await admin(`/api/edges/${EDGE}/policy/pin`, { method: 'DELETE' });
    await eventually(async () => (await changes())[0]?.action === 'conservative', 15_000);
    expect((await changes()).slice(0, 3).map((c) => c.action)).toEqual(['conservative', 'unpin', 'pin']);
    const again = (await changes())[0]!.to;
    expect(again.device.threshold).toBeGreaterThan(0.2);
    await eventually(() => Math.abs(device.policy.threshold - again.device.threshold) < 1e-9, 15_000);
  }, 90_000);

  it('refuses a malformed or wrong-kind pin with a clear error and changes nothing', async () => {
    const bad = async (body: unknown) => {
      const res = await fetch(`${cloud.url}/api/edges/${EDGE}/policy`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${cloud.ready.adminToken.token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, error: ((await res.json()) as { error: string }).error };
    };
    // The controller may still re-place its fallback meanwhile (it is unpinned): count the operator's.
    const operatorChanges = async () => (await changes()).filter((c) => c.source === 'operator').length;
    const before = await operatorChanges();
    expect(
      await bad({ device: { score: 'margin', threshold: 2 }, edge: { score: 'margin', threshold: 0.3 } }),
    ).toMatchObject({
      status: 400,
      error: expect.stringMatching(/routing.device.threshold/),
    });
    expect(
      await bad({ device: { score: 'entropy', threshold: 0.5 }, edge: { score: 'margin', threshold: 0.3 } }),
    ).toMatchObject({
      status: 400,
      error: expect.stringMatching(/routes by margin/),
    });
    expect(await bad({ edge: 'high' })).toMatchObject({ status: 400 });
    expect(await operatorChanges()).toBe(before);
  }, 30_000);

  it('fogline status and fogline policy show the loop and pin through the admin API', async () => {
    const target = ['--url', cloud.url, '--admin-token', cloud.ready.adminToken.token];
    const status = await fogline('status', ...target);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${EDGE}\\s+online`));
    expect(status.stdout).toMatch(/DRIFT/);
    expect(status.stdout).toMatch(/\d+\.\d% \[\d+\.\d%–\d+\.\d%\] n=\d+/);
    const history = await fogline('policy', 'history', EDGE, ...target);
    expect(history.stdout).toMatch(/operator\s+pin/);
    expect(history.stdout).toMatch(/controller\s+conservative/);
    const bad = await fogline('policy', 'pin', EDGE, '--device', '2', '--edge', '0.3', ...target);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--device must be a number in \[0, 1\]/);
    const pinned = await fogline(
      'policy',
      'pin',
      EDGE,
      '--device',
      '0.25',
      '--edge',
      '0.35',
      '--reason',
      'cli',
      ...target,
    );
    expect(pinned.code, pinned.stderr).toBe(0);
    await eventually(() => device.policy.threshold === 0.25, 15_000);
    const show = await fogline('policy', 'show', EDGE, ...target);
    expect(show.stdout).toMatch(/pinned: {3}yes/);
    expect(show.stdout).toMatch(/last decision: /);
    expect((await fogline('policy', 'unpin', EDGE, ...target)).code).toBe(0);
    expect((await admin<Json>(`/api/edges/${EDGE}/policy`)).pinned).toBe(false);
  }, 120_000);
});

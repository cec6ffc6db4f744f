/**
 * The drift bench on the real system (`--live`): a cloud (PGlite, digits-large, the controller on or
 * off), an edge agent (embedded broker, digits-mid-int8, drift monitor, audits over HTTP) and an SDK
 * device (digits-tiny) on real sockets in this process, started as `fogline up` starts them, on a temp
 * copy of the models whose configs carry the drift block and baseline calibration gives. The device
 * sends the stream; each answer is judged against its label. Also the device's answer latency with
 * audits off and at 20 %, on the same in-distribution requests.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent } from '@fogline/edge-agent';
import { DIGIT_PIXELS, type DigitsData } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import type { CascadePolicy } from '@fogline/toolchain';
import { type LatencySummary, summarize } from '../lib/stats.ts';
import type { LoopCalibration } from './calibration.ts';
import type { RequestOutcome } from './windows.ts';

const EDGE = 'drift-edge';
const BATCH = 25;

export interface LiveRun {
  readonly outcomes: RequestOutcome[];
  /** The device's answer latency (ms, whole call) at each audit rate, on the same requests. */
  readonly latency?: Readonly<Record<'off' | 'on', LatencySummary>>;
  readonly wallSec: number;
}

async function send(device: Device, data: DigitsData, start: number, end: number, alarm: () => boolean) {
  const out: (RequestOutcome & { ms: number })[] = [];
  for (let i = start; i < end; i += BATCH) {
    const p = device.policy.auditRate ?? 0.02;
    const on = alarm();
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, end - i) }, (_, k) =>
        device.infer(data.images.slice((i + k) * DIGIT_PIXELS, (i + k + 1) * DIGIT_PIXELS), {
          deadlineMs: 10_000,
        }),
      ),
    );
    batch.forEach((r, k) => {
      out.push({
        tier: r.tier,
        correct: r.label === data.labels[i + k],
        audited: false,
        p,
        alarm: on,
        ms: r.latencyMs.total,
      });
    });
  }
  return out;
}

export async function runLive(o: {
  readonly data: DigitsData;
  readonly policy: CascadePolicy;
  readonly calibration: LoopCalibration;
  readonly controller: boolean;
  readonly budget: number;
  /** Requests for the latency comparison, each way (0: none). */
  readonly latencyRequests: number;
  readonly latencyData?: DigitsData;
}): Promise<LiveRun> {
  const began = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'fogline-drift-'));
  const models = join(dir, 'models');
  const { baseline } = o.calibration;
  const drift = {
    ...o.calibration.driftReference,
    baseline: {
      disagreement: baseline.disagreement,
      edgeAgreement: baseline.edgeAgreement ?? 1,
      cloudAccuracy: baseline.cloudAccuracy ?? 1,
    },
  };
  for (const name of ['digits-tiny', 'digits-mid-int8']) {
    await cp(join(DEFAULT_MODELS_DIR, name), join(models, name), { recursive: true });
    const file = join(models, name, 'config.json');
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, 'utf8')), drift }, null, 2));
  }
  const cloud = await startFabricCloud({
    models: ['digits-large'],
    cloudModel: 'digits-large',
    controller: {
      enabled: o.controller,
      intervalMs: 300,
      cloudBudget: o.budget,
      window: { maxRecords: 10_000, maxAgeMs: 3_600_000 },
    },
  });
  const edge = await cloud.admin.createEdge(EDGE);
  const { token } = await cloud.admin.createDevice('dev-1', EDGE);
  const quiet = { info: () => {}, warn: () => {} };
  const agent = createEdgeAgent({
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
    drift: { windowRequests: 500 },
    auditInputs: 'drop',
    dataDir: join(dir, 'edge'),
    workers: 1,
    intraOpThreads: 1,
    logger: quiet,
  });
  let device: Device | undefined;
  try {
    const info = await agent.start();
    await eventually(() => agent.deviceListVersion !== undefined, 10_000);
    device = await connectDevice({
      broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
      deviceId: 'dev-1',
      token,
      edgeId: EDGE,
      model: join(models, 'digits-tiny', '1', 'model.onnx'),
      runtime: 'node',
      auditSeed: 7,
      auditBudget: { ratePerSec: 10_000, burst: 10_000 },
      driftHistogram: { everyRequests: 100 },
    });
    const d = device;
    agent.setRouting(o.policy.edge);
    const setRate = async (auditRate: number) => {
      const m = await agent.publishDevicePolicy(o.policy.device, { auditRate });
      await eventually(() => d.policy.edgeVersion === m.version, 5_000);
    };
    const alarm = () => agent.driftStatus()?.alarm ?? false;
    let latency: LiveRun['latency'];
    if (o.latencyRequests > 0 && o.latencyData) {
      await setRate(0);
      const off = await send(d, o.latencyData, 0, o.latencyRequests, alarm);
      await setRate(0.2);
      const on = await send(d, o.latencyData, 0, o.latencyRequests, alarm);
      latency = { off: summarize(off.map((r) => r.ms)), on: summarize(on.map((r) => r.ms)) };
    }
    await setRate(0.02);
    const outcomes = await send(d, o.data, 0, o.data.count, alarm);
    return {
      outcomes: outcomes.map(({ ms: _, ...r }) => r),
      ...(latency && { latency }),
      wallSec: (performance.now() - began) / 1000,
    };
  } finally {
    await device?.close();
    await agent.stop().catch(() => {});
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

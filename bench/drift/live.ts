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
import { DEFAULT_CLOUD_OPTIONS } from '@fogline/cloud';
import { eventually, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import { DIGIT_PIXELS, type DigitsData } from '@fogline/shared/digits';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import type { CascadePolicy, ControllerAction } from '@fogline/toolchain';
import type { LoopCalibration } from './calibration.ts';
import type { SimulatedDecision, Simulation } from './simulate.ts';
import type { RequestOutcome } from './windows.ts';

const EDGE = 'drift-edge';
const BATCH = 25;

export interface LiveRun {
  /** The run in the replay's shape (simulate.ts), so that the same summary and targets judge it. */
  readonly run: Simulation;
  /** The device's answer latency (ms, whole call) of every request, in stream order. */
  readonly latencyMs: number[];
  /** Audits the device sent (its own count). */
  readonly auditsSent: number;
  /** When each step of the loop happened, by request (the first request sent after it). */
  readonly timeline: readonly TimelineEvent[];
  /** Where audits waited on their way to the controller after the (first) alarm. */
  readonly auditPath: readonly AuditPathRow[];
  readonly wallSec: number;
}

export interface TimelineEvent {
  readonly at: number;
  readonly what: string;
}

export interface StageSample {
  /** The next request to be sent, and ms since the first. */
  readonly at: number;
  readonly ms: number;
  readonly deviceSent: number;
  readonly edgeReceived: number;
  readonly edgeUploaded: number;
  readonly cloudStored: number;
  /** Records in the controller's window of the edge (restarted by an alarm). */
  readonly windowRecords: number;
}

interface Sent extends RequestOutcome {
  readonly ms: number;
  /** Wall-clock time its batch was sent, and the device policy it was sent under. */
  readonly sentAt: number;
  readonly device: string;
}

/**
 * Sends the stream in batches of BATCH; `probe` (read before each batch) names the controller's
 * state, and each change of it becomes a step of the timeline.
 */
async function send(
  device: Device,
  data: DigitsData,
  alarm: () => boolean,
  probe: () => string,
  steps: TimelineEvent[],
  sample: (at: number) => void = () => {},
): Promise<Sent[]> {
  const out: Sent[] = [];
  let state = '';
  for (let i = 0; i < data.count; i += BATCH) {
    sample(i);
    const now = probe();
    if (now.replace(/[\d.]+/g, '#') !== state.replace(/[\d.]+/g, '#')) steps.push({ at: i, what: now });
    state = now;
    const p = device.policy.auditRate ?? 0.02;
    const on = alarm();
    const sentAt = Date.now();
    const policy = `${device.policy.score} ≥ ${device.policy.threshold.toFixed(3)}`;
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, data.count - i) }, (_, k) =>
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
        sentAt,
        device: policy,
      });
    });
  }
  return out;
}

/** Where the k-th audit the device sent after the alarm was, stage by stage: the request and ms then. */
export interface AuditPathRow {
  readonly k: number;
  readonly stages: readonly { readonly stage: string; readonly at: number; readonly ms: number }[];
}

const PATH_STAGES = [
  ['sent by the device', 'deviceSent'],
  ['received by the edge', 'edgeReceived'],
  ['uploaded', 'edgeUploaded'],
  ['stored by the cloud', 'cloudStored'],
  ["in the controller's window", 'windowRecords'],
] as const;

/**
 * The audit path after the alarm (raised before request `alarmAt`), read off the samples: for the
 * 10th, 20th, 40th (the fallback's minimum) and 80th audit since, when each stage had counted it.
 * The window restarts at the alarm (it counts audits since); the other counters count every audit
 * of the run, in order (the edge's floor may pass a few ahead), so the k-th since the alarm is their
 * (sent at the alarm + k)-th.
 */
export function auditPath(samples: readonly StageSample[], alarmAt: number): AuditPathRow[] {
  const start = samples.findLast((x) => x.at <= alarmAt);
  if (!start) return [];
  return [10, 20, 40, 80].map((k) => ({
    k,
    stages: PATH_STAGES.flatMap(([stage, key]) => {
      const wanted = key === 'windowRecords' ? k : start.deviceSent + k;
      const hit = samples.find((x) => x.at >= start.at && x[key] >= wanted);
      return hit ? [{ stage, at: hit.at, ms: hit.ms }] : [];
    }),
  }));
}

/** The first request sent at or after `ms` (wall clock), or the stream's length. */
function requestAt(sent: readonly Sent[], ms: number): number {
  const i = sent.findIndex((s) => s.sentAt >= ms);
  return i < 0 ? sent.length : i;
}

/** What the edge's audit relay did, as the timeline's last line. */
function relayLine(at: number, c: ReturnType<EdgeAgent['auditCounts']>): TimelineEvent {
  const d = c?.dropped;
  const dropped = d ? d.queueFull + d.cloudDown + d.uploadFailed + d.cloudFull : 0;
  return {
    at,
    what: c
      ? `edge relay, whole run: ${c.received} audits received, ${c.uploaded} uploaded, ${c.floor} of them under the floor without the edge's answer (the controller leaves those out), ${dropped} dropped`
      : 'edge relay: none',
  };
}

export async function runLive(o: {
  readonly data: DigitsData;
  readonly policy: CascadePolicy;
  readonly calibration: LoopCalibration;
  readonly controller: boolean;
  readonly budget: number;
  /** Audit rate outside an alarm; 0 turns audits off (the alarm's rate too): the latency baseline. */
  readonly auditRate: number;
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
    // The controller's and the edge's cadences are the product's defaults (`fogline up`): rounds every
    // 10 s, every 500 ms during a drift alarm; telemetry every 5 s and at once on an alarm or a directive.
    controller: {
      ...DEFAULT_CLOUD_OPTIONS.controller,
      enabled: o.controller,
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
    drift: { windowRequests: 500, ...(o.auditRate === 0 && { alarmAuditRate: 0, calmAuditRate: 0 }) },
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
    await setRate(o.auditRate);
    const steps: TimelineEvent[] = [];
    const controller = cloud.server.controller;
    const probe = () => {
      const decision = controller.control(EDGE).decision;
      const records = controller.windows.records(EDGE).length;
      return decision
        ? `cloud decides: ${decision.action}, ${records} records — ${decision.why.length > 220 ? `${decision.why.slice(0, 60)} … ${decision.why.slice(-150)}` : decision.why}`
        : '';
    };
    const stages: StageSample[] = [];
    const t0 = performance.now();
    const sample = (at: number) =>
      stages.push({
        at,
        ms: performance.now() - t0,
        deviceSent: d.stats().audits.sent,
        edgeReceived: agent.auditCounts()?.received ?? 0,
        edgeUploaded: agent.auditCounts()?.uploaded ?? 0,
        cloudStored: cloud.server.auditCounts?.stored ?? 0,
        windowRecords: controller.windows.records(EDGE).length,
      });
    const sent = await send(d, o.data, alarm, o.controller ? probe : () => '', steps, sample);
    // The loop's steps, by request: the edge's alarm events, the controller's changes, the device's policy.
    const at = (iso: string | Date) => requestAt(sent, new Date(iso).getTime());
    const events = agent.driftStatus()?.events ?? [];
    const alarms = events.map((e) => ({ at: at(e.at), alarm: e.alarm }));
    const changes = o.controller ? (await cloud.admin.policyChanges(EDGE)).reverse() : [];
    const decisions: SimulatedDecision[] = changes.flatMap((c) =>
      c.to
        ? [{ at: at(c.at), action: c.action as ControllerAction, why: c.why, policy: c.to as CascadePolicy }]
        : [],
    );
    const timeline: TimelineEvent[] = [
      ...events.map((e) => ({
        at: at(e.at),
        what: `edge: drift alarm ${e.alarm ? 'on' : e.settled ? 'off (settled)' : 'off'} (PSI ${e.psi.toFixed(2)})`,
      })),
      ...changes.map((c) => {
        const f = c.figures as { records?: number; nEff?: number } | null;
        const to = c.to
          ? `device ≥ ${c.to.device.threshold.toFixed(3)}, edge ≥ ${c.to.edge.threshold.toFixed(3)}`
          : '';
        return {
          at: at(c.at),
          what: `cloud: ${c.action} → ${to} on ${f?.records ?? '?'} records (n_eff ${f?.nEff?.toFixed(0) ?? '?'})`,
        };
      }),
      ...sent.flatMap((s, i) =>
        i > 0 && s.device !== sent[i - 1]!.device ? [{ at: i, what: `device: ${s.device}` }] : [],
      ),
      ...steps.filter((s) => s.what !== '' && !s.what.includes(': conservative,')),
      relayLine(sent.length, agent.auditCounts()),
    ].sort((x, y) => x.at - y.at);
    return {
      run: {
        requests: sent.map(({ ms: _, sentAt: __, device: ___, ...r }) => r),
        decisions,
        alarms,
        finalPolicy: decisions.at(-1)?.policy ?? o.policy,
      },
      latencyMs: sent.map((r) => r.ms),
      auditsSent: d.stats().audits.sent,
      timeline,
      auditPath: auditPath(stages, alarms.find((a) => a.alarm)?.at ?? sent.length),
      wallSec: (performance.now() - began) / 1000,
    };
  } finally {
    await device?.close();
    await agent.stop().catch(() => {});
    await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Devices for `npm run bench -- fabric`, run in a child process (`node --import tsx`) so that they do
 * not share the edge's event loop (they do share the cores). Two kinds, given by a JSON plan file:
 *
 * - `sdk`: real `connectDevice` devices (tiny model + escalation policy + MQTT) sending test digits;
 *   every answered request is one record (tier, label, per-tier latencies as the SDK reports them).
 * - `raw`: lean MQTT clients (bench/fabric-mqtt-load.ts) publishing framed requests closed-loop: the
 *   cheapest possible load, for the edge's throughput.
 *
 * Writes its result as JSON to `plan.out`. Helper of bench/fabric.ts, not a benchmark of its own.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectDevice, type Device, type RoutingPolicy } from '@fogline/device-sdk';
import { topics } from '@fogline/shared';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { runClosedLoop } from './fabric-mqtt-load.ts';
import { type LatencySummary, round, summarize } from './fabric-stats.ts';

export interface Credential {
  readonly id: string;
  readonly token: string;
}

interface PlanBase {
  readonly broker: string;
  readonly edgeId: string;
  readonly devices: readonly Credential[];
  readonly inFlightPerDevice: number;
  readonly deadlineMs: number;
  readonly out: string;
}

export interface SdkPlan extends PlanBase {
  readonly kind: 'sdk';
  /** Device model path; its config.json gives the policy unless `policy` is set. */
  readonly model: string;
  readonly policy?: RoutingPolicy;
  /** Unrecorded requests per device first (calibration digits). */
  readonly warmupPerDevice: number;
  /** Measured requests: test digits 0..count-1 once each (cycling past the split), or until durationMs. */
  readonly count?: number;
  readonly durationMs?: number;
}

export interface RawPlan extends PlanBase {
  readonly kind: 'raw';
  readonly warmupMs: number;
  readonly durationMs: number;
}

export type DevicePlan = SdkPlan | RawPlan;

export interface SdkRecord {
  /** Index in the test split. */
  readonly index: number;
  readonly label: number;
  readonly predicted: number;
  readonly tier: 'device' | 'edge' | 'cloud';
  readonly degraded: boolean;
  readonly fallback: string | null;
  readonly totalMs: number;
  readonly deviceMs: number;
  readonly edgeMs: number | null;
  readonly cloudMs: number | null;
}

export interface SdkResult {
  readonly kind: 'sdk';
  readonly policy: { score: string; threshold: number };
  readonly seconds: number;
  readonly records: SdkRecord[];
}

export interface RawResult {
  readonly kind: 'raw';
  readonly seconds: number;
  readonly completed: number;
  readonly errors: Record<string, number>;
  readonly latency: LatencySummary;
  /** Every request answered or failed, warm-up included (for CPU per request). */
  readonly requestsIncludingWarmup: number;
  /** This (load) process's CPU time per request over the whole run, connects included. */
  readonly cpuMicrosPerRequest: number;
}

async function runSdk(plan: SdkPlan): Promise<SdkResult> {
  const test = loadDigits('test');
  const warm = loadDigits('calibration');
  const image = (split: typeof test, i: number) =>
    split.images.subarray((i % split.count) * DIGIT_PIXELS, ((i % split.count) + 1) * DIGIT_PIXELS);
  const devices: Device[] = await Promise.all(
    plan.devices.map((d) =>
      connectDevice({
        broker: plan.broker,
        deviceId: d.id,
        token: d.token,
        edgeId: plan.edgeId,
        model: plan.model,
        ...(plan.policy ? { policy: plan.policy } : {}),
        deadlineMs: plan.deadlineMs,
        connectTimeoutMs: 20_000,
      }),
    ),
  );
  try {
    const offline = devices.filter((d) => d.state !== 'online').map((d) => d.deviceId);
    if (offline.length > 0) throw new Error(`devices not online: ${offline.join(', ')}`);
    await Promise.all(
      devices.map(async (device, k) => {
        for (let i = 0; i < plan.warmupPerDevice; i++) await device.infer(image(warm, k * 97 + i));
      }),
    );
    const records: SdkRecord[] = [];
    let next = 0;
    const started = performance.now();
    const end = started + (plan.durationMs ?? Number.POSITIVE_INFINITY);
    const loop = async (device: Device) => {
      for (;;) {
        if (plan.count !== undefined && next >= plan.count) return;
        if (performance.now() >= end) return;
        const i = next++;
        const index = i % test.count;
        const r = await device.infer(image(test, index), { deadlineMs: plan.deadlineMs });
        records.push({
          index,
          label: test.labels[index]!,
          predicted: r.label,
          tier: r.tier,
          degraded: r.degraded,
          fallback: r.fallback?.code ?? null,
          totalMs: r.latencyMs.total,
          deviceMs: r.latencyMs.device,
          edgeMs: r.latencyMs.edge ?? null,
          cloudMs: r.latencyMs.cloud ?? null,
        });
      }
    };
    await Promise.all(
      devices.flatMap((device) => Array.from({ length: plan.inFlightPerDevice }, () => loop(device))),
    );
    const policy = devices[0]!.policy;
    return {
      kind: 'sdk',
      policy: { score: policy.score, threshold: policy.threshold },
      seconds: (performance.now() - started) / 1000,
      records,
    };
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
}

async function runRaw(plan: RawPlan): Promise<RawResult> {
  const test = loadDigits('test');
  const { hostname, port } = new URL(plan.broker);
  const cpuStart = process.cpuUsage();
  const result = await runClosedLoop({
    host: hostname,
    port: Number(port),
    devices: plan.devices,
    inferTopic: topics.infer(plan.edgeId),
    replyTopic: (id) => topics.reply(id),
    inFlightPerDevice: plan.inFlightPerDevice,
    images: Array.from({ length: 256 }, (_, i) =>
      test.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS),
    ),
    inputName: 'image',
    shape: [1, 1, 28, 28],
    deadlineMs: plan.deadlineMs,
    // A request is never left waiting: no reply within deadline + 1 s counts as lost.
    lostAfterMs: plan.deadlineMs + 1000,
    warmupMs: plan.warmupMs,
    durationMs: plan.durationMs,
  });
  const cpu = process.cpuUsage(cpuStart);
  return {
    kind: 'raw',
    seconds: plan.durationMs / 1000,
    completed: result.completed,
    errors: result.errors,
    latency: summarize(result.latencies),
    requestsIncludingWarmup: result.total,
    cpuMicrosPerRequest: round((cpu.user + cpu.system) / Math.max(1, result.total), 1),
  };
}

async function main(planFile: string): Promise<void> {
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as DevicePlan;
  const result = plan.kind === 'sdk' ? await runSdk(plan) : await runRaw(plan);
  writeFileSync(plan.out, JSON.stringify(result));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv[2] ?? '').then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

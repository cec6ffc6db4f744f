/**
 * Real SDK devices for `npm run bench -- fabric`, in their own process (bench/lib/child.ts):
 * `connectDevice` devices (tiny model + escalation policy + MQTT) sending test digits; every answered
 * request is one record (tier, label, per-tier latencies as the SDK reports them). `runDevices(plan)`
 * from the bench; `node --import tsx bench/fabric/devices.ts` with the plan on stdin is that child.
 */
import { fileURLToPath } from 'node:url';
import { connectDevice, type Device, type EscalationPolicy } from '@fogline/device-sdk';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits-dataset';
import { childMain, runChild } from '../lib/child.ts';
import type { Credential } from './stack.ts';

export interface SdkPlan {
  readonly broker: string;
  readonly edgeId: string;
  readonly devices: readonly Credential[];
  readonly inFlightPerDevice: number;
  readonly deadlineMs: number;
  /** Device model path; its config.json gives the policy unless `policy` is set. */
  readonly model: string;
  readonly policy?: EscalationPolicy;
  /** Unrecorded requests per device first (calibration digits). */
  readonly warmupPerDevice: number;
  /** Measured requests: test digits 0..count-1 once each (cycling past the split), or until durationMs. */
  readonly count?: number;
  readonly durationMs?: number;
}

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
  readonly policy: { score: string; threshold: number };
  readonly seconds: number;
  readonly records: SdkRecord[];
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
      policy: { score: policy.score, threshold: policy.threshold },
      seconds: (performance.now() - started) / 1000,
      records,
    };
  } finally {
    await Promise.all(devices.map((d) => d.close()));
  }
}

export function runDevices(plan: SdkPlan): Promise<SdkResult> {
  return runChild(new URL(import.meta.url), plan);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await childMain(runSdk);

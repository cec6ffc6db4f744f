/**
 * Real-device adapter of the load generator: SDK devices (`connectDevice`: tiny model, escalation
 * policy, MQTT) sending test digits in order, each warmed up on calibration digits first. Every
 * answer is a record (tier, label, latencies as the SDK reports them).
 */
import { connectDevice, type RoutingPolicy } from '@fogline/device-sdk';
import { sampleOf } from '@fogline/toolchain';
import { samplesFor } from '../lib/bench-data.ts';
import type { LoadAdapter } from './closed-loop.ts';

export interface SdkTarget {
  readonly broker: string;
  readonly edgeId: string;
  readonly devices: readonly { readonly id: string; readonly token: string }[];
  readonly deadlineMs: number;
  /** Device model path; its config.json gives the policy unless `policy` is set. */
  readonly model: string;
  readonly policy?: RoutingPolicy;
  readonly warmupPerDevice: number;
}

export interface SdkRecord {
  /** Index in the test split. */
  readonly index: number;
  readonly label: number;
  readonly predicted: number;
  readonly tier: 'device' | 'edge' | 'cloud';
  readonly degraded: boolean;
  readonly totalMs: number;
  readonly deviceMs: number;
  readonly edgeMs: number | null;
}

export function sdkAdapter(target: SdkTarget): LoadAdapter {
  const { broker, edgeId, model, deadlineMs } = target;
  // Through the dataset reader, prepared for the device model (read once, shared by the devices).
  const sets = Promise.all([samplesFor(model, 'test'), samplesFor(model, 'calibration')]);
  let next = 0;
  return {
    async connect(k) {
      const [test, warm] = await sets;
      const image = (set: typeof test, i: number) => sampleOf(set, i % set.count);
      const { id, token } = target.devices[k]!;
      const policy = target.policy ? { policy: target.policy } : {};
      const device = await connectDevice({
        broker,
        deviceId: id,
        token,
        edgeId,
        model,
        deadlineMs,
        connectTimeoutMs: 20_000,
        ...policy,
      });
      if (device.state !== 'online') throw new Error(`device ${id} not online`);
      for (let i = 0; i < target.warmupPerDevice; i++) await device.infer(image(warm, k * 97 + i));
      return {
        alive: true,
        send(done) {
          const index = next++ % test.count;
          device.infer(image(test, index), { deadlineMs }).then(
            (r) => {
              const { total: totalMs, device: deviceMs, edge } = r.latencyMs;
              const label = test.labels![index]!;
              done(null, {
                index,
                label,
                predicted: r.label,
                tier: r.tier,
                degraded: r.degraded,
                totalMs,
                deviceMs,
                edgeMs: edge ?? null,
              });
            },
            () => done('SDK_ERROR'),
          );
        },
        close: () => device.close(),
      };
    },
  };
}

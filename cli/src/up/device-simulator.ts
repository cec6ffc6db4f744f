/**
 * Simulated devices for `fogline up`: each one is a real device SDK client (its own MQTT connection,
 * credentials and device model) streaming the samples of a labelled dataset (the digits test split by
 * default, or the user's `--data`) as prepared real values at a fixed rate, in a seeded shuffled
 * order (stream-order.ts), and every answer is scored against the label.
 */
import { connectDevice, type Device } from '@fogline/device-sdk';
import { FoglineError } from '@fogline/shared';
import { type Dataset, sampleOf } from '@fogline/toolchain';
import type { CascadeTally } from './cascade-tally.ts';
import { DEFAULT_STREAM_SEED, deviceSampleStream, shuffledIndices } from './stream-order.ts';

export interface SimulatedDeviceSpec {
  id: string;
  token: string;
}

export interface SimulatorOptions {
  broker: string;
  edgeId: string;
  devices: readonly SimulatedDeviceSpec[];
  ratePerDevice: number;
  deadlineMs: number;
  tally: CascadeTally;
  /** The labelled samples the devices stream, prepared for the device model. */
  dataset: Dataset;
  /** The device model's ONNX file (its config.json two folders up gives the routing policy). */
  deviceModel: string;
  /** The device model's input shape with batch 1. */
  inputShape: readonly number[];
  /** Requests a device may have outstanding before it skips a tick (bounded, never queued forever). */
  maxInFlightPerDevice?: number;
  /** Seed of the shuffled order the devices stream the dataset in (default: a fixed one). */
  streamSeed?: number;
}

export interface DeviceSimulator {
  /** Stops sending, waits for the answers in flight, disconnects. */
  stop(): Promise<void>;
}

export async function startDeviceSimulator(options: SimulatorOptions): Promise<DeviceSimulator> {
  const { dataset } = options;
  const labels = dataset.labels;
  if (!labels) throw new FoglineError('INVALID_ARG', `${dataset.source} has no labels`);
  const maxInFlight = options.maxInFlightPerDevice ?? 8;
  const devices: Device[] = await Promise.all(
    options.devices.map((d) =>
      connectDevice({
        broker: options.broker,
        deviceId: d.id,
        token: d.token,
        edgeId: options.edgeId,
        model: options.deviceModel,
        inputShape: options.inputShape,
      }),
    ),
  );
  const inFlight = new Set<Promise<void>>();
  const order = shuffledIndices(dataset.count, options.streamSeed ?? DEFAULT_STREAM_SEED);
  const periodMs = 1000 / options.ratePerDevice;

  const timers = devices.map((device, k) => {
    let outstanding = 0;
    const nextSample = deviceSampleStream(order, k, devices.length);
    const tick = () => {
      if (outstanding >= maxInFlight) return;
      const i = nextSample();
      outstanding++;
      const p = device
        .infer(sampleOf(dataset, i), { deadlineMs: options.deadlineMs })
        .then(
          (r) =>
            options.tally.record({
              tier: r.tier,
              correct: r.label === labels[i],
              degraded: r.degraded,
              latencyMs: r.latencyMs.total,
              fallback: r.fallback,
            }),
          () => options.tally.recordError(),
        )
        .finally(() => {
          outstanding--;
          inFlight.delete(p);
        });
      inFlight.add(p);
    };
    // Spread the devices over one period so they do not fire in lockstep.
    const start = setTimeout(
      () => {
        tick();
        timers[k] = setInterval(tick, periodMs);
      },
      (periodMs * k) / devices.length,
    );
    return start as ReturnType<typeof setInterval>;
  });

  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.allSettled([...inFlight]);
      await Promise.allSettled(devices.map((d) => d.close()));
    },
  };
}

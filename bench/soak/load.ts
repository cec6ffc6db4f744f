/**
 * The soak's device load, in its own process: `devices` lean MQTT devices (bench/load/mqtt.ts, real
 * fogline frames, QoS 1) each sending `ratePerSec` requests open loop. Prints a `{"sample":…}` line
 * every `sampleMs`, then its totals (bench/lib/child.ts). Lost = sent − answered − explicit errors.
 */
import { fileURLToPath } from 'node:url';
import { childMain } from '../lib/child.ts';
import { round, summarize } from '../lib/stats.ts';
import type { LoadConnection } from '../load/closed-loop.ts';
import { type MqttTarget, mqttAdapter } from '../load/mqtt.ts';

export interface SoakPlan extends MqttTarget {
  readonly ratePerSec: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly sampleMs: number;
}

/** Codes the load generator gives requests it never saw settled: these are lost, not explicit errors. */
export const LOST_CODES = ['NO_REPLY', 'CONNECTION_LOST'];
/** Devices connecting at once (each CONNECT costs the edge one scrypt check). */
const CONNECT_BATCH = 50;

async function connectAll(plan: SoakPlan): Promise<LoadConnection[]> {
  const adapter = mqttAdapter(plan);
  const connections: LoadConnection[] = [];
  for (let i = 0; i < plan.devices.length; i += CONNECT_BATCH) {
    const batch = plan.devices.slice(i, i + CONNECT_BATCH).map((_, j) => adapter.connect(i + j));
    connections.push(...(await Promise.all(batch)));
  }
  return connections;
}

export async function soakLoad(plan: SoakPlan) {
  const connectStart = performance.now();
  const connections = await connectAll(plan);
  const connectSeconds = (performance.now() - connectStart) / 1000;
  const start = performance.now();
  const measureFrom = start + plan.warmupMs;
  let sent = 0;
  let answered = 0;
  let settledErrors = 0;
  const errors: Record<string, number> = {};
  const measured: number[] = [];
  let window: number[] = [];
  let windowStart = start;
  const send = (c: LoadConnection) => {
    const sentAt = performance.now();
    sent++;
    c.send((code) => {
      const ms = performance.now() - sentAt;
      if (code !== null) {
        settledErrors++;
        errors[code] = (errors[code] ?? 0) + 1;
        return;
      }
      answered++;
      window.push(ms);
      if (sentAt >= measureFrom) measured.push(ms);
    });
  };
  const periodMs = 1000 / plan.ratePerSec;
  const intervals: NodeJS.Timeout[] = [];
  const phases = connections.map((c) =>
    setTimeout(() => {
      send(c);
      intervals.push(setInterval(() => c.alive && send(c), periodMs));
    }, Math.random() * periodMs),
  );
  const sampler = setInterval(() => {
    const now = performance.now();
    const { p50Ms, p99Ms } = summarize(window);
    const sample = {
      t: round((now - start) / 1000, 1),
      reqPerSec: round(window.length / ((now - windowStart) / 1000), 1),
      p50Ms: round(p50Ms, 2),
      p99Ms: round(p99Ms, 2),
      sent,
      answered,
      errors: settledErrors,
    };
    process.stdout.write(`${JSON.stringify({ sample })}\n`);
    window = [];
    windowStart = now;
  }, plan.sampleMs);
  await new Promise((resolve) => setTimeout(resolve, plan.durationMs));
  for (const t of [...phases, ...intervals]) clearTimeout(t);
  const seconds = (performance.now() - start) / 1000;
  // Every request settles: answered, an error reply, or NO_REPLY after lostAfterMs (the adapter's sweeper).
  const drainUntil = performance.now() + plan.lostAfterMs + 2000;
  while (answered + settledErrors < sent && performance.now() < drainUntil)
    await new Promise((resolve) => setTimeout(resolve, 100));
  clearInterval(sampler);
  const disconnected = connections.filter((c) => !c.alive).length;
  await Promise.all(connections.map((c) => c.close()));
  const explicit = Object.entries(errors)
    .filter(([code]) => !LOST_CODES.includes(code))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    devices: connections.length,
    connectSeconds: round(connectSeconds, 1),
    seconds: round(seconds, 1),
    sent,
    answered,
    explicitErrors: explicit,
    errors,
    lost: sent - answered - explicit,
    disconnected,
    reqPerSec: round(answered / seconds, 1),
    /** Requests sent after the warm-up. */
    latency: summarize(measured),
  };
}

export type SoakLoadResult = Awaited<ReturnType<typeof soakLoad>>;

if (process.argv[1] === fileURLToPath(import.meta.url)) await childMain(soakLoad);

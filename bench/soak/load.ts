/**
 * The soak's devices, in their own process, each sending `ratePerSec` requests open loop. Prints a sample
 * line every `sampleMs`, then totals (latency after warm-up). Lost = sent − answered − explicit errors.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { childMain } from '../lib/child.ts';
import { round, summarize } from '../lib/stats.ts';
import type { LoadConnection } from '../load/closed-loop.ts';
import { type MqttTarget, mqttAdapter } from '../load/mqtt.ts';
import { sdkAdapter } from '../load/sdk.ts';

/** `sdk`: a few real SDK devices (device model, escalation policy) beside the lean ones. */
export type SoakPlan = MqttTarget &
  Readonly<Record<'ratePerSec' | 'warmupMs' | 'durationMs' | 'sampleMs', number>> & {
    readonly sdk: { readonly devices: MqttTarget['devices']; readonly model: string };
  };

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
  const sdk = sdkAdapter({ ...plan, ...plan.sdk, warmupPerDevice: 3 });
  for (let k = 0; k < plan.sdk.devices.length; k++) connections.push(await sdk.connect(k));
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
      if (code === null) {
        answered++;
        window.push(ms);
        if (sentAt >= measureFrom) measured.push(ms);
      } else {
        settledErrors++;
        errors[code] = (errors[code] ?? 0) + 1;
      }
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
    const [t, reqPerSec] = [(now - start) / 1000, window.length / ((now - windowStart) / 1000)];
    const sample = { t, reqPerSec, p50Ms, p99Ms, sent, answered, errors: settledErrors };
    process.stdout.write(
      `${JSON.stringify({ sample }, (_, v) => (typeof v === 'number' ? round(v, 2) : v))}\n`,
    );
    [window, windowStart] = [[], now];
  }, plan.sampleMs);
  await sleep(plan.durationMs);
  for (const t of [sampler, ...phases, ...intervals]) clearTimeout(t);
  const seconds = (performance.now() - start) / 1000;
  // Every request settles: answered, an error reply, or NO_REPLY after lostAfterMs (the adapter's sweeper).
  const drainUntil = performance.now() + plan.lostAfterMs + 2000;
  while (answered + settledErrors < sent && performance.now() < drainUntil) await sleep(100);
  const disconnected = connections.filter((c) => !c.alive).length;
  await Promise.all(connections.map((c) => c.close()));
  let explicitErrors = 0;
  for (const [code, n] of Object.entries(errors)) if (!LOST_CODES.includes(code)) explicitErrors += n;
  const lost = sent - answered - explicitErrors;
  const reqPerSec = round(answered / seconds, 1);
  const totals = { sent, answered, explicitErrors, errors, lost, disconnected, reqPerSec };
  return { devices: connections.length, connectSeconds, seconds, ...totals, latency: summarize(measured) };
}

export type SoakLoadResult = Awaited<ReturnType<typeof soakLoad>>;

if (process.argv[1] === fileURLToPath(import.meta.url)) await childMain(soakLoad);

/**
 * The faults suite's shared parts: `fogline` processes started for one test file and killed after it,
 * the devices and their identities, the load they make (SDK devices one request at a time, a
 * wire-level device on a timer) and the report of its counts against the invariant.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { loadDigits } from '@fogline/shared/digits';
import { afterAll, expect } from 'vitest';
import { type FoglineProcess, startFoglineProcess } from '../../cli/src/testing/fogline-process.ts';
import type { RequestLedger } from './request-ledger.ts';
import type { WireDevice } from './wire-device.ts';

const digits = loadDigits('test');
export const image = (i: number) => digits.images.subarray((i % 100) * 784, ((i % 100) + 1) * 784);
export const DEVICES = [1, 2, 3, 4].map((n) => ({ id: `dev-${n}`, token: `tok-${n}` }));
export const WIRE = { id: 'dev-wire', token: 'tok-wire' };
/** The devices always ask their edge (a margin never reaches 1). */
export const escalate = { score: 'margin' as const, threshold: 1 };
export const SLACK_MS = 1500;

export const progress = (line: string) => {
  if (process.env.FOGLINE_FAULTS_DEBUG) console.log(`${new Date().toISOString()} ${line}`);
};

export type Ready = {
  http?: { url: string };
  mqtt: { port: number };
  metrics?: { host: string; port: number } | null;
};

/** What one test file started: stopped (processes killed, devices closed, dirs removed) after it. */
export interface FaultRun {
  start(args: string[], env?: Record<string, string>): Promise<FoglineProcess<Ready>>;
  tempDir(prefix: string): Promise<string>;
  later(cleanup: () => Promise<unknown>): void;
}

export function faultRun(): FaultRun {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });
  return {
    async start(args, env = {}) {
      progress(`starting fogline ${args[0]}`);
      const proc = await startFoglineProcess<Ready>(args, { env });
      cleanups.push(() => proc.stop('SIGKILL'));
      return proc;
    },
    async tempDir(prefix) {
      const dir = await mkdtemp(join(tmpdir(), prefix));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
    later: (cleanup) => cleanups.push(cleanup),
  };
}

/** DEVICES as SDK devices on `broker`, with their tokens (or those enrolled, from `tokens`). */
export async function sdkDevices(
  run: FaultRun,
  broker: string,
  edgeId: string,
  tokens?: ReadonlyMap<string, string>,
): Promise<Device[]> {
  const devices = await Promise.all(
    DEVICES.map((d) =>
      connectDevice({
        broker,
        deviceId: d.id,
        token: tokens?.get(d.id) ?? d.token,
        edgeId,
        runtime: 'node',
        policy: escalate,
        reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
      }),
    ),
  );
  for (const d of devices) run.later(() => d.close());
  return devices;
}

/** Load from every SDK device (one request at a time each) and the wire device, until `stop()`. */
export function load(devices: Device[], wire: WireDevice, ledger: RequestLedger) {
  let running = true;
  const tiers: string[] = [];
  const loops = devices.map(async (device, d) => {
    for (let i = d; running; i += devices.length) {
      await ledger.track(async () => {
        const r = await device.infer(image(i), { deadlineMs: ledger.deadlineMs });
        tiers.push(r.tier);
        return r.degraded ? `${r.tier} degraded` : r.tier;
      });
      // A device's pace, not a spin: answered locally, a request takes a millisecond.
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  const wireTimer = setInterval(() => wire.send(image(7), ledger.deadlineMs), 50);
  return {
    tiers,
    async stop() {
      running = false;
      clearInterval(wireTimer);
      await Promise.all(loops);
      // Late replies to the wire device's last requests.
      await new Promise((r) => setTimeout(r, ledger.deadlineMs + 200));
    },
  };
}

export type Load = ReturnType<typeof load>;

/** Prints the counts and asserts the invariant: none late, none unsettled, no error, none answered twice. */
export function report(name: string, ledger: RequestLedger, wire: WireDevice) {
  const counts = ledger.close();
  const duplicates = wire.duplicates();
  console.log(
    `faults ${name}: ${counts.requests} SDK requests ${JSON.stringify(counts.outcomes)}, late ${counts.late}, ` +
      `unsettled ${counts.unsettled}, max ${counts.maxMs} ms; wire device: ${wire.sent} sent, ` +
      `${wire.replies} replies, ${duplicates.length} ids answered twice`,
  );
  expect(counts.late).toBe(0);
  expect(counts.unsettled).toBe(0);
  expect(Object.keys(counts.outcomes).filter((o) => o.startsWith('error'))).toEqual([]);
  expect(duplicates).toEqual([]);
}

/**
 * One sample of the edge's `/metrics`: `name` with `labels` as written there (e.g. `{reason="x"}`), or
 * its first sample whatever its labels when `labels` is not given; 0 when absent.
 */
export async function edgeMetric(
  edge: FoglineProcess<Ready>,
  name: string,
  labels?: string,
): Promise<number> {
  const metrics = edge.ready.metrics;
  if (!metrics) throw new Error('the edge was started without --metrics-port');
  const text = await (await fetch(`http://127.0.0.1:${metrics.port}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) =>
      labels === undefined ? /^[^ {]+/.exec(l)?.[0] === name : l.startsWith(`${name}${labels} `),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/**
 * What the fabric bench runs against, started with the packages' own test fixtures: the gateway (auth
 * off, only the cloud model) and edge agents with their embedded broker and the bench's devices.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCloud } from '@fogline/cloud/testing';
import type { EdgeAgentOptions } from '@fogline/edge-agent';
import { startTestAgent } from '@fogline/edge-agent/testing';
import type { ResolvedPolicy, Tier } from '@fogline/shared';
import type { ModelEntry } from '@fogline/shared/model-repository';
import { runLoad } from '../load/run-load.ts';
import type { SdkRecord } from '../load/sdk.ts';

export const BENCH_EDGE_ID = 'bench-edge';
/** Per-device publish token bucket of the bench's edges: far above any rate the bench reaches. */
export const BENCH_PUBLISH_RATE = Object.freeze({ ratePerSec: 100_000, burst: 100_000 });

/**
 * Failed-authentication budget of the bench's edges per address: all the bench's devices connect at
 * once from 127.0.0.1, and an address has at most its budget's tokens in checks at once (with the
 * default burst of 20 the rest would wait their turn, a slower connect phase). Still checked on
 * every CONNECT.
 */
export const BENCH_AUTH_FAILURES = Object.freeze({ perAddress: { ratePerSec: 1000, burst: 1000 } });

export type Credential = { readonly id: string; readonly token: string };

/** What every part of the fabric bench gets: models (a snapshot of the repository), devices, settings. */
export interface Bench {
  readonly entries: Record<Tier, ModelEntry>;
  readonly modelsDir: string;
  readonly devices: readonly Credential[];
  readonly seconds: number;
  readonly deadlineMs: number;
  readonly cascadeConcurrency: number;
  /** Rounds per throughput load, each paired with its own raw measurement; the median is reported. */
  readonly throughputRounds: number;
  /** The edge's engine; `sizing: 'probe'` also turns on its adaptive queue delay (bench --sizing probe). */
  readonly engine: { workers: number; intraOpThreads: number; sizing?: 'probe' | 'default' };
  log(message: string): void;
}

export function benchDevices(count: number): Credential[] {
  const run = Math.random().toString(36).slice(2);
  return Array.from({ length: count }, (_, i) => ({
    id: `bench-dev-${i}`,
    token: `bench-token-${i}-${run}`,
  }));
}

/** A copy of `names` from `modelsDir` in a temp folder, so models replaced during a run do not mix in. */
export async function snapshotModels(modelsDir: string, names: readonly string[]) {
  const dir = await mkdtemp(join(tmpdir(), 'fogline-bench-models-'));
  for (const name of new Set(names)) await cp(join(modelsDir, name), join(dir, name), { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The real gateway, auth off, serving only `model` of the snapshot. */
export async function startBenchCloud(b: Bench, model: string) {
  const snapshot = await snapshotModels(b.modelsDir, [model]);
  const cloud = await startCloud({ modelsDir: snapshot.dir, auth: false });
  return {
    url: cloud.url,
    async stop() {
      await cloud.stop();
      await snapshot.remove();
    },
  };
}

/** An edge agent with its embedded broker on a free port, knowing the bench's devices. */
export async function startBenchEdge(
  b: Pick<Bench, 'modelsDir' | 'devices' | 'engine'>,
  options: Partial<EdgeAgentOptions>,
) {
  return startTestAgent({
    edgeId: BENCH_EDGE_ID,
    localBroker: {
      kind: 'embedded',
      host: '127.0.0.1',
      mqttPort: 0,
      publishRate: BENCH_PUBLISH_RATE,
      authFailures: BENCH_AUTH_FAILURES,
    },
    modelsDir: b.modelsDir,
    ...b.engine,
    ...options,
    devices: b.devices,
  });
}

/** Real SDK devices, one request in flight each, through `broker` (bench/load/sdk.ts); one record per answer. */
export async function runDevices(
  b: Bench,
  broker: string,
  plan: {
    connections: number;
    warmupPerDevice: number;
    durationMs: number;
    count?: number;
    policy?: ResolvedPolicy;
  },
) {
  const devices = b.devices.slice(0, plan.connections);
  const model = b.entries.device.modelPath();
  const common = { broker, edgeId: BENCH_EDGE_ID, devices, model, deadlineMs: b.deadlineMs };
  const r = await runLoad({ protocol: 'sdk', ...common, inFlightPerConnection: 1, warmupMs: 0, ...plan });
  return { ...r, records: r.records as SdkRecord[] };
}

/**
 * The pieces of the fabric bench, started for real on 127.0.0.1 (the same way the edge-agent tests
 * do): the cloud gateway (`CloudServer`, auth off, serving only the cloud model), edge agents with
 * their embedded broker and a seeded device-list cache, and the device process (bench/fabric-devices.ts).
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CloudServer } from '@fogline/cloud';
import {
  createEdgeAgent,
  type DesiredState,
  DeviceListCache,
  type EdgeAgent,
  type EdgeAgentInfo,
  type EdgeAgentOptions,
} from '@fogline/edge-agent';
import { hashSecret } from '@fogline/shared/secrets';
import type { Credential, DevicePlan, RawPlan, RawResult, SdkPlan, SdkResult } from './fabric-devices.ts';

const exec = promisify(execFile);
const DEVICES_SCRIPT = fileURLToPath(new URL('./fabric-devices.ts', import.meta.url));
export const BENCH_EDGE_ID = 'bench-edge';

/** Per-device publish token bucket of the bench's edges: far above any rate the bench reaches. */
export const BENCH_PUBLISH_RATE = Object.freeze({ ratePerSec: 100_000, burst: 100_000 });

export interface BenchCredentials {
  readonly devices: readonly Credential[];
  readonly desired: DesiredState;
}

/** `count` device identities and the device list an edge would have synced for them. */
export async function benchCredentials(count: number): Promise<BenchCredentials> {
  const devices = Array.from({ length: count }, (_, i) => ({
    id: `bench-dev-${i}`,
    token: `bench-token-${i}-${Math.random().toString(36).slice(2)}`,
  }));
  const hashes = await Promise.all(devices.map((d) => hashSecret(d.token)));
  return {
    devices,
    desired: { version: 1, devices: devices.map((d, i) => ({ id: d.id, tokenHash: hashes[i]! })) },
  };
}

export interface ModelSnapshot {
  /** A model repository holding copies of the bench's models, so a run sees one version of each. */
  readonly dir: string;
  remove(): Promise<void>;
}

/** Copies `names` from `modelsDir`: models replaced on disk during a run do not mix into it. */
export async function snapshotModels(modelsDir: string, names: readonly string[]): Promise<ModelSnapshot> {
  const dir = await mkdtemp(join(tmpdir(), 'fogline-bench-models-'));
  for (const name of new Set(names)) await cp(join(modelsDir, name), join(dir, name), { recursive: true });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface BenchCloud {
  readonly url: string;
  stop(): Promise<void>;
}

/** The real gateway, auth off, serving only `model` (copied from `modelsDir`) on a free port. */
export async function startBenchCloud(modelsDir: string, model: string): Promise<BenchCloud> {
  const dir = await mkdtemp(join(tmpdir(), 'fogline-bench-cloud-'));
  await cp(join(modelsDir, model), join(dir, 'models', model), { recursive: true });
  const server = new CloudServer({
    httpPort: 0,
    host: '127.0.0.1',
    mqttPort: null,
    dataDir: join(dir, 'data'),
    modelsDir: join(dir, 'models'),
    auth: false,
  });
  try {
    await server.start();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: server.url,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchEdge {
  readonly agent: EdgeAgent;
  readonly info: EdgeAgentInfo;
  /** `mqtt://127.0.0.1:<port>` of its embedded broker. */
  readonly broker: string;
  stop(): Promise<void>;
}

/** An edge agent with its embedded broker on a free port; its device list comes from the disk cache. */
export async function startBenchEdge(
  credentials: BenchCredentials,
  options: Partial<EdgeAgentOptions>,
): Promise<BenchEdge> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fogline-bench-edge-'));
  await new DeviceListCache(dataDir).save(credentials.desired);
  const agent = createEdgeAgent({
    edgeId: BENCH_EDGE_ID,
    token: 'bench-edge-token',
    localBroker: { kind: 'embedded', host: '127.0.0.1', mqttPort: 0, publishRate: BENCH_PUBLISH_RATE },
    ...options,
    dataDir,
  });
  let info: EdgeAgentInfo;
  try {
    info = await agent.start();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    agent,
    info,
    broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
    async stop() {
      await agent.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

type PlanInput<P extends DevicePlan> = Omit<P, 'out' | 'edgeId'>;

/** Runs the devices of `plan` in a child process and returns what they measured. */
export function runDevices(plan: PlanInput<SdkPlan>): Promise<SdkResult>;
export function runDevices(plan: PlanInput<RawPlan>): Promise<RawResult>;
export async function runDevices(plan: PlanInput<DevicePlan>): Promise<SdkResult | RawResult> {
  const dir = await mkdtemp(join(tmpdir(), 'fogline-bench-devices-'));
  try {
    const out = join(dir, 'result.json');
    const planFile = join(dir, 'plan.json');
    await writeFile(planFile, JSON.stringify({ ...plan, edgeId: BENCH_EDGE_ID, out }));
    const tsx = import.meta.resolve('tsx');
    try {
      await exec(
        process.execPath,
        [
          ...(process.env.FOGLINE_BENCH_PROF
            ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FOGLINE_BENCH_PROF}`]
            : []),
          '--import',
          tsx,
          DEVICES_SCRIPT,
          planFile,
        ],
        { maxBuffer: 1 << 24 },
      );
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      throw new Error(`device process failed: ${stderr.trim().slice(-2000) || String(err)}`);
    }
    return JSON.parse(await readFile(out, 'utf8')) as SdkResult | RawResult;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

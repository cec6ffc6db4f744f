/**
 * Test support: an edge agent on free ports with a temp data dir, its device list seeded in the disk
 * cache (as if synced from the cloud earlier), and real MQTT devices to talk to it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashSecret } from '@fogline/shared/secrets';
import type { EdgeAgentOptions } from '../agent-options.ts';
import { DeviceListCache } from '../device-list-cache.ts';
import { createEdgeAgent, type EdgeAgent, type EdgeAgentInfo } from '../edge-agent.ts';

/** Routing under which every request escalates (entropy confidence never reaches 1). */
export const ESCALATE_ALL = { routingScore: 'entropy', routingThreshold: 1 } as const;

/** Where nothing listens: a cloud that is down. */
export const UNREACHABLE_CLOUD_URL = 'http://127.0.0.1:1';

/**
 * Agent options under which every request tries the cloud at `cloudUrl`, and the breaker opens after
 * `volumeThreshold` failed calls and stays open for the test.
 */
export function escalatingTo(cloudUrl: string, volumeThreshold: number) {
  return { cloudUrl, breaker: { volumeThreshold, resetTimeoutMs: 60_000 }, ...ESCALATE_ALL };
}

export interface TestDeviceCredential {
  id: string;
  token: string;
}

export async function desiredStateFor(devices: readonly TestDeviceCredential[], version = 1) {
  return {
    version,
    devices: await Promise.all(
      devices.map(async (d) => ({ id: d.id, tokenHash: await hashSecret(d.token) })),
    ),
  };
}

export async function seedDeviceList(dataDir: string, devices: readonly TestDeviceCredential[], version = 1) {
  await new DeviceListCache(dataDir).save(await desiredStateFor(devices, version));
}

export interface AgentFixture {
  readonly agent: EdgeAgent;
  readonly info: EdgeAgentInfo;
  readonly dataDir: string;
  /** `mqtt://127.0.0.1:<port>` of the embedded broker. */
  readonly url: string;
  stop(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fogline-edge-'));
}

/** Starts an agent; `dataDir` defaults to a fresh temp dir removed at stop. */
export async function startTestAgent(
  options: Partial<EdgeAgentOptions> & { devices?: readonly TestDeviceCredential[] },
): Promise<AgentFixture> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await makeDataDir());
  if (options.devices) await seedDeviceList(dataDir, options.devices);
  const agent = createEdgeAgent({
    edgeId: 'edge-test',
    token: 'edge-token',
    // Tests fire bursts from one device; the per-device rate limit has its own tests in the broker.
    localBroker: {
      kind: 'embedded',
      host: '127.0.0.1',
      mqttPort: 0,
      publishRate: { ratePerSec: 10_000, burst: 10_000 },
    },
    workers: 1,
    intraOpThreads: 1,
    ...options,
    dataDir,
  });
  const info = await agent.start();
  return {
    agent,
    info,
    dataDir,
    url: info.localBroker.url ?? `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
    async stop() {
      await agent.stop();
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Test support for deployments (docs/edge-agent.md "Deployments"): a real CloudServer (auth on, its
 * broker, its model store), an edge agent serving digits-mid from the committed repository, talking
 * to the cloud's HTTP through a recording proxy (cloud-proxy.ts) and to its broker directly, and one
 * SDK device that sends every request to the edge. `deploy` publishes a desired state with a
 * `deployment` block, retained, on the cloud's broker, as the cloud does; the edge's reported states
 * are read there in-process.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent, type EdgeAgentOptions } from '@fogline/edge-agent';
import { deployableEdgeOptions } from '@fogline/edge-agent/testing';
import { type DeploymentReport, topics } from '@fogline/shared';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { type CloudProxy, startCloudProxy } from './cloud-proxy.ts';

export const MID_ONNX = join(DEFAULT_MODELS_DIR, 'digits-mid', '1', 'model.onnx');
export const MID_CONFIG = JSON.parse(
  readFileSync(join(DEFAULT_MODELS_DIR, 'digits-mid', 'config.json'), 'utf8'),
);

export interface StoredVersion {
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  readonly bytes: number;
}

export interface DeploymentSystem {
  readonly cloud: FabricCloud;
  readonly proxy: CloudProxy;
  readonly edgeId: string;
  readonly dataDir: string;
  agent: EdgeAgent;
  device: Device;
  /** Every reported state's `deployment` field the cloud broker saw, in order. */
  readonly reports: DeploymentReport[];
  readonly warnings: string[];
  /** Pushes a copy of `file` as name@version (default digits-mid with digits-mid's config). */
  push(version: number, file?: string, config?: { name: string }): Promise<StoredVersion>;
  /** Publishes the edge's desired state with this deployment block. */
  deploy(block: Record<string, unknown>): Promise<void>;
  /** Waits for the report of deployment `id` in a final state (active, failed). */
  settled(id: string, timeoutMs?: number): Promise<DeploymentReport>;
  /** Stops the edge (and its device) and starts a new one on the same data dir. */
  restartEdge(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDeploymentSystem(
  options: {
    /** Options of the edge agent over deployableEdgeOptions' (`undefined` takes a field's default). */
    readonly edge?: Partial<EdgeAgentOptions>;
    /** Runs on the edge's data dir before its first start. */
    readonly seed?: (dataDir: string) => Promise<void>;
  } = {},
): Promise<DeploymentSystem> {
  const edgeId = 'deploy-edge';
  const dataDir = mkdtempSync(join(tmpdir(), 'fogline-deploy-edge-'));
  const work = mkdtempSync(join(tmpdir(), 'fogline-deploy-files-'));
  const cloud = await startFabricCloud({ models: ['digits-tiny'], cloudModel: 'digits-tiny' });
  const proxy = await startCloudProxy(cloud.url);
  const reports: DeploymentReport[] = [];
  const warnings: string[] = [];
  await new Promise<void>((resolve) =>
    cloud.server.fabric.broker.aedes.subscribe(
      topics.reported(edgeId),
      (packet, done) => {
        const state = JSON.parse(packet.payload.toString()) as { deployment?: DeploymentReport };
        if (state.deployment) reports.push(state.deployment);
        done();
      },
      resolve,
    ),
  );
  await options.seed?.(dataDir);
  const edge = await cloud.admin.createEdge(edgeId);
  const { token } = await cloud.admin.createDevice('dev-1', edgeId);
  const startEdge = async () => {
    const agent = createEdgeAgent({
      ...deployableEdgeOptions({
        edgeId,
        token: edge.token,
        cloudUrl: proxy.url,
        cloudBrokerUrl: cloud.mqttUrl,
        cloudModel: 'digits-tiny',
        dataDir,
        warn: (line) => warnings.push(line),
      }),
      ...options.edge,
    });
    const info = await agent.start();
    await eventually(() => agent.deviceListVersion !== undefined && agent.cloudLinkConnected, 15_000);
    const device = await connectDevice({
      broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
      deviceId: 'dev-1',
      token,
      edgeId,
      runtime: 'node',
      auditBudget: { ratePerSec: 10_000, burst: 10_000 },
    });
    // The edge answers all it gets; the device sends it everything.
    agent.setRouting({ score: 'maxprob', threshold: 0 });
    const policy = await agent.publishDevicePolicy({ score: 'maxprob', threshold: 1 }, { auditRate: 1 });
    await eventually(() => device.policy.edgeVersion === policy.version, 5000);
    return { agent, device };
  };
  let running = await startEdge();
  const system: DeploymentSystem = {
    cloud,
    proxy,
    edgeId,
    dataDir,
    agent: running.agent,
    device: running.device,
    reports,
    warnings,
    async push(version, file = MID_ONNX, config = MID_CONFIG) {
      const copy = join(work, `${config.name}-${version}.onnx`);
      copyFileSync(file, copy);
      const { version: view } = await cloud.admin.pushModel({
        name: config.name,
        file: copy,
        version,
        config,
      });
      return { model: config.name, version: view.version, sha256: view.sha256, bytes: view.bytes };
    },
    async deploy(block) {
      const { publisher, broker } = cloud.server.fabric;
      const current = await publisher.current(edgeId);
      const message = { ...current!.message, version: publisher.nextVersion(), deployment: block };
      await broker.publish(topics.desired(edgeId), JSON.stringify(message), { qos: 1, retain: true });
    },
    async settled(id, timeoutMs = 60_000) {
      const final = () => reports.find((r) => r.id === id && (r.state === 'active' || r.state === 'failed'));
      await eventually(() => final() !== undefined, timeoutMs);
      return final()!;
    },
    async restartEdge() {
      await system.device.close();
      await system.agent.stop();
      running = await startEdge();
      system.agent = running.agent;
      system.device = running.device;
    },
    async stop() {
      await system.device?.close();
      await system.agent?.stop().catch(() => {});
      await proxy.close();
      await cloud.stop();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    },
  };
  return system;
}

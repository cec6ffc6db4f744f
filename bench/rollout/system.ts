/**
 * The rollout bench's system: a real cloud (PGlite, its broker and model store, digits-tiny in the
 * cloud tier) and two edge agents serving digits-mid@1 from the committed repository, each with one
 * SDK device on its embedded broker that sends every request to the edge, all on 127.0.0.1 in this
 * process, as `fogline up` starts them. Every reported `deployment` state the cloud's broker sees is
 * kept with the time it arrived.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import { type DeploymentReport, topics } from '@fogline/shared';

export const EDGES = ['rollout-a', 'rollout-b'] as const;

export interface TimedReport {
  readonly edge: string;
  /** performance.now() when the cloud's broker delivered it. */
  readonly at: number;
  readonly report: DeploymentReport;
}

export interface RolloutSystem {
  readonly cloud: FabricCloud;
  readonly agents: EdgeAgent[];
  /** One device per edge, in EDGES order. */
  readonly devices: Device[];
  readonly reports: TimedReport[];
  stop(): Promise<void>;
}

export async function startRolloutSystem(): Promise<RolloutSystem> {
  const dirs: string[] = [];
  const agents: EdgeAgent[] = [];
  const devices: Device[] = [];
  const reports: TimedReport[] = [];
  const cloud = await startFabricCloud({ models: ['digits-tiny'], cloudModel: 'digits-tiny' });
  const stop = async () => {
    for (const d of devices) await d.close().catch(() => {});
    for (const a of agents) await a.stop().catch(() => {});
    await cloud.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const edgeId of EDGES) {
      await new Promise<void>((resolve) =>
        cloud.server.fabric.broker.aedes.subscribe(
          topics.reported(edgeId),
          (packet, done) => {
            const state = JSON.parse(packet.payload.toString()) as { deployment?: DeploymentReport };
            if (state.deployment)
              reports.push({ edge: edgeId, at: performance.now(), report: state.deployment });
            done();
          },
          resolve,
        ),
      );
      const edge = await cloud.admin.createEdge(edgeId);
      const { token } = await cloud.admin.createDevice(`${edgeId}-dev`, edgeId);
      const dataDir = mkdtempSync(join(tmpdir(), 'fogline-rollout-'));
      dirs.push(dataDir);
      const agent = createEdgeAgent({
        edgeId,
        token: edge.token,
        cloudUrl: cloud.url,
        cloudBrokerUrl: cloud.mqttUrl,
        cloudModel: 'digits-tiny',
        model: 'digits-mid',
        deviceModel: 'digits-tiny:1',
        localBroker: {
          kind: 'embedded',
          host: '127.0.0.1',
          mqttPort: 0,
          publishRate: { ratePerSec: 10_000, burst: 10_000 },
          reportRate: { ratePerSec: 10_000, burst: 10_000 },
        },
        dataDir,
        workers: 1,
        intraOpThreads: 1,
        logger: { info: () => {}, warn: (line) => console.warn(`[${edgeId}] ${line}`) },
      });
      agents.push(agent);
      const info = await agent.start();
      await eventually(() => agent.deviceListVersion !== undefined && agent.cloudLinkConnected, 20_000);
      const device = await connectDevice({
        broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
        deviceId: `${edgeId}-dev`,
        token,
        edgeId,
        runtime: 'node',
      });
      devices.push(device);
      // The edge answers all it gets; the device (no local model) sends it everything, no audits.
      agent.setRouting({ score: 'maxprob', threshold: 0 });
      const policy = await agent.publishDevicePolicy({ score: 'maxprob', threshold: 1 }, { auditRate: 0 });
      await eventually(() => device.policy.edgeVersion === policy.version, 10_000);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { cloud, agents, devices, reports, stop };
}

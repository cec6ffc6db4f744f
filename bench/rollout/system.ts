/**
 * The rollout bench's system on 127.0.0.1 in this process: a real cloud (PGlite, broker, model store),
 * two edge agents serving digits-mid@1, one SDK device per edge (`devices`, in EDGES order) sending it
 * every request; each `deployment` report the cloud's broker sees is kept with the time it arrived.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import { deployableEdgeOptions } from '@fogline/edge-agent/testing';
import { type DeploymentReport, topics } from '@fogline/shared';

export const EDGES = ['rollout-a', 'rollout-b'] as const;

/** `at`: performance.now() when the cloud's broker delivered it. */
export type TimedReport = { readonly edge: string; readonly at: number; readonly report: DeploymentReport };

export type RolloutSystem = Awaited<ReturnType<typeof startRolloutSystem>>;

export async function startRolloutSystem() {
  const root = mkdtempSync(join(tmpdir(), 'fogline-rollout-'));
  const agents: EdgeAgent[] = [];
  const devices: Device[] = [];
  const reports: TimedReport[] = [];
  const cloud = await startFabricCloud({ models: ['digits-tiny'], cloudModel: 'digits-tiny' });
  const stop = async () => {
    for (const d of devices) await d.close().catch(() => {});
    for (const a of agents) await a.stop().catch(() => {});
    await cloud.stop();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const edgeId of EDGES) {
      await new Promise<void>((ok) =>
        cloud.server.fabric.broker.aedes.subscribe(
          topics.reported(edgeId),
          (packet, done) => {
            const { deployment } = JSON.parse(packet.payload.toString()) as { deployment?: DeploymentReport };
            if (deployment) reports.push({ edge: edgeId, at: performance.now(), report: deployment });
            done();
          },
          () => ok(),
        ),
      );
      const edge = await cloud.admin.createEdge(edgeId);
      const { token } = await cloud.admin.createDevice(`${edgeId}-dev`, edgeId);
      const agent = createEdgeAgent(
        deployableEdgeOptions({
          edgeId,
          token: edge.token,
          cloudUrl: cloud.url,
          cloudBrokerUrl: cloud.mqttUrl,
          cloudModel: 'digits-tiny',
          dataDir: join(root, edgeId),
          warn: (line) => console.warn(`[${edgeId}] ${line}`),
        }),
      );
      agents.push(agent);
      const info = await agent.start();
      await eventually(() => agent.deviceListVersion !== undefined && agent.cloudLinkConnected, 20_000);
      const broker = `mqtt://127.0.0.1:${info.localBroker.mqttPort}`;
      const device = await connectDevice({
        broker,
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

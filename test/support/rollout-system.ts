/**
 * Test support for rollouts end to end (docs/operations.md "Rollout"): a real CloudServer (its
 * broker, HTTP, model store and deployment service, digits-large as the reference for the gate)
 * with digits-mid@1 in its store, and two real edge agents serving the committed digits-mid, each
 * with one SDK device that sends every request to its edge and audits every one (auditRate 1, so
 * a gate gets its paired records quickly). `pending` reads what each edge reports as `pendingModels`. `traffic` keeps both devices busy and keeps every
 * failure; `fogline` runs the real CLI (a fresh process) against this cloud.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, pushCommittedModel, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import { deployableEdgeOptions, testDigits } from '@fogline/edge-agent/testing';
import { type CliOutcome, runFogline } from '../../cli/src/testing/run-fogline.ts';

export const EDGES = ['edge-a', 'edge-b'] as const;

export interface RolloutEdge {
  readonly id: string;
  readonly agent: EdgeAgent;
  readonly device: Device;
  readonly dataDir: string;
}

export interface RolloutSystem {
  readonly cloud: FabricCloud;
  readonly edges: readonly RolloutEdge[];
  /** Runs `fogline …` against this cloud (its data dir names the URL and the admin token). */
  fogline(...args: string[]): Promise<CliOutcome>;
  /** The `pendingModels` each edge last reported (edge id → name → version; empty when none). */
  pending(): Record<string, Record<string, number>>;
  /** Both devices send requests until `stop()`; it resolves with how many were answered and the failures. */
  traffic(): { stop(): Promise<{ answered: number; failures: string[]; served: Set<string> }> };
  stop(): Promise<void>;
}

async function startEdge(cloud: FabricCloud, id: string): Promise<RolloutEdge> {
  const dataDir = mkdtempSync(join(tmpdir(), `fogline-rollout-${id}-`));
  const edge = await cloud.admin.createEdge(id);
  const { token } = await cloud.admin.createDevice(`${id}-dev`, id);
  const agent = createEdgeAgent(
    deployableEdgeOptions({
      edgeId: id,
      token: edge.token,
      cloudUrl: cloud.url,
      cloudBrokerUrl: cloud.mqttUrl,
      cloudModel: 'digits-large',
      dataDir,
    }),
  );
  const info = await agent.start();
  await eventually(() => agent.deviceListVersion !== undefined && agent.cloudLinkConnected, 30_000);
  const device = await connectDevice({
    broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
    deviceId: `${id}-dev`,
    token,
    edgeId: id,
    runtime: 'node',
    auditBudget: { ratePerSec: 10_000, burst: 10_000 },
  });
  // The edge answers all it gets; the device sends it everything and audits every request.
  agent.setRouting({ score: 'maxprob', threshold: 0 });
  const policy = await agent.publishDevicePolicy({ score: 'maxprob', threshold: 1 }, { auditRate: 1 });
  await eventually(() => device.policy.edgeVersion === policy.version, 10_000);
  return { id, agent, device, dataDir };
}

export async function startRolloutSystem(): Promise<RolloutSystem> {
  // The cloud serves digits-mid@1 as an edge-tier model too: its edges' desired `models` name it,
  // until a deployment moves them.
  const cloud = await startFabricCloud({
    models: ['digits-large', 'digits-mid'],
    cloudModel: 'digits-large',
  });
  // The version the edges run is in the store too: a rollback to it has a file to name.
  await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 1);
  const edges: RolloutEdge[] = [];
  for (const id of EDGES) edges.push(await startEdge(cloud, id));
  const { images } = testDigits(64);
  return {
    cloud,
    edges,
    fogline: (...args) => runFogline(...args, '--data-dir', cloud.dataDir),
    pending: () =>
      Object.fromEntries(
        edges.map((e) => [e.id, cloud.server.fabric.presence.view(e.id).reported?.pendingModels ?? {}]),
      ),
    traffic() {
      let done = false;
      let answered = 0;
      const failures: string[] = [];
      const served = new Set<string>();
      const loops = edges.map(async ({ id, device }) => {
        for (let i = 0; !done; i++) {
          try {
            const r = await device.infer(images[i % images.length]!, { deadlineMs: 15_000 });
            answered++;
            served.add(`${id} ${r.modelVersions}`);
            if (r.degraded || r.tier !== 'edge') failures.push(`${id}: ${r.tier} degraded=${r.degraded}`);
          } catch (err) {
            failures.push(`${id}: ${(err as Error).message}`);
          }
          // Steady, not flat out: two cores are shared with the cloud, both edges and the CLI.
          await new Promise((r) => setTimeout(r, 5));
        }
      });
      return {
        async stop() {
          done = true;
          await Promise.all(loops);
          return { answered, failures, served };
        },
      };
    },
    async stop() {
      for (const e of edges) {
        await e.device.close().catch(() => {});
        await e.agent.stop().catch(() => {});
        rmSync(e.dataDir, { recursive: true, force: true });
      }
      await cloud.stop();
    },
  };
}

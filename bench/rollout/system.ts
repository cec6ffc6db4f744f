/**
 * The rollout bench's system as a deployment runs it, on 127.0.0.1: `fogline cloud` (digits-tiny as
 * its model, its own data dir and model store) and two `fogline edge` processes serving the committed
 * digits-mid@1 (one worker, one intra-op thread), each started with its token as a user would; one
 * SDK device per edge (`devices`, in EDGES order) in this process, its policy pinned so that it sends
 * every request to its edge, which answers all of them (threshold 0). `swapLines` returns what each
 * edge logged of its swaps (the deployer's `deployment …: serving …` line, with its phase times).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FoglineProcess, startFoglineProcess } from '@fogline/cli/testing';
import { CloudAdminClient, resolveAdminTarget } from '@fogline/cloud';
import { eventually, makeModelRepo } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';

export const EDGES = ['rollout-a', 'rollout-b'] as const;

type CloudReadyLine = { http: { url: string }; mqtt: { url: string } };
type EdgeReadyLine = { mqtt: { port: number } };
type Cloud = { readonly proc: FoglineProcess<CloudReadyLine>; readonly admin: CloudAdminClient };

export type RolloutSystem = Awaited<ReturnType<typeof startRolloutSystem>>;

async function startCloud(dataDir: string, models: string): Promise<Cloud> {
  const proc = await startFoglineProcess<CloudReadyLine>([
    ...['cloud', '--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0', '--data-dir', dataDir],
    ...['--models', models, '--cloud-model', 'digits-tiny', '--sizing', 'default'],
    ...['--workers', '1', '--intra-op-threads', '1'],
  ]);
  return { proc, admin: new CloudAdminClient(await resolveAdminTarget({ dataDir })) };
}

/** Enrols `edgeId` and its device, starts the edge and connects the device once the edge knows it. */
async function startEdge(
  cloud: Cloud,
  edgeId: string,
  dataDir: string,
  started: (p: FoglineProcess) => void,
) {
  const { admin } = cloud;
  const { token } = await admin.createEdge(edgeId);
  const device = await admin.createDevice(`${edgeId}-dev`, edgeId);
  mkdirSync(dataDir, { mode: 0o700 });
  const proc = await startFoglineProcess<EdgeReadyLine>(
    [
      ...[
        'edge',
        '--id',
        edgeId,
        '--cloud',
        cloud.proc.ready.http.url,
        '--cloud-broker',
        cloud.proc.ready.mqtt.url,
      ],
      ...['--host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', dataDir, '--model', 'digits-mid'],
      ...['--sizing', 'default', '--workers', '1', '--intra-op-threads', '1'],
      ...['--cloud-model', 'digits-tiny', '--routing-score', 'maxprob', '--threshold', '0'],
    ],
    { env: { FOGLINE_EDGE_TOKEN: token } },
  );
  started(proc);
  // The device list (with this device) comes from the cloud once the edge's link is up.
  await eventually(async () => {
    const view = await admin.getEdge(edgeId);
    return view.online && view.deviceListVersion !== null;
  }, 30_000);
  return connectDevice({
    broker: `mqtt://127.0.0.1:${proc.ready.mqtt.port}`,
    deviceId: `${edgeId}-dev`,
    token: device.token,
    edgeId,
    runtime: 'node',
    // Every request goes to the edge (maxprob never reaches 1.01), whatever the edge publishes.
    policy: { score: 'maxprob', threshold: 1.01 },
    pinPolicy: true,
    modelUpdates: false,
  });
}

export async function startRolloutSystem() {
  const root = mkdtempSync(join(tmpdir(), 'fogline-rollout-'));
  const models = makeModelRepo(['digits-tiny']);
  const edges: FoglineProcess[] = [];
  const devices: Device[] = [];
  let cloud: Cloud | undefined;
  const stop = async () => {
    for (const d of devices) await d.close().catch(() => {});
    for (const e of edges) await e.stop();
    await cloud?.proc.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(models, { recursive: true, force: true });
  };
  try {
    cloud = await startCloud(join(root, 'cloud'), models);
    for (const edgeId of EDGES) {
      devices.push(await startEdge(cloud, edgeId, join(root, edgeId), (p) => edges.push(p)));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const swapLines = () =>
    edges.map((e, i) => ({
      edge: EDGES[i]!,
      lines: e
        .stderr()
        .split('\n')
        .filter((l) => /deployment \S+: serving /.test(l)),
    }));
  return { admin: cloud.admin, devices, swapLines, stop };
}

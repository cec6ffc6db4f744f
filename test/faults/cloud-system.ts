/**
 * The faults suite's enrolled system: a `fogline cloud` process with auth on (its own data dir, or
 * PostgreSQL through `DATABASE_URL`), an edge and its devices enrolled through the admin API, and a
 * `fogline edge` process on the cloud's HTTP and broker, escalating everything to the cloud model.
 * The cloud keeps its ports across restarts (`restartCloud`).
 */
import { rm } from 'node:fs/promises';
import { type AdminTarget, CloudAdminClient, resolveAdminTarget } from '@fogline/cloud';
import { makeModelRepo } from '@fogline/cloud/testing';
import type { FoglineProcess } from '../../cli/src/testing/fogline-process.ts';
import { freePort } from '../support/free-port.ts';
import { DEVICES, type FaultRun, type Ready, WIRE } from './fault-run.ts';

export interface CloudSystem {
  cloud: FoglineProcess<Ready>;
  edge: FoglineProcess<Ready>;
  readonly admin: CloudAdminClient;
  /** The cloud's URL and admin token, for raw admin calls. */
  readonly adminTarget: AdminTarget;
  readonly edgeId: string;
  /** The edge's broker, for its devices. */
  readonly edgeBroker: string;
  /** Tokens of DEVICES and WIRE by id, as enrolled. */
  readonly tokens: Map<string, string>;
  /** Starts the cloud again, same ports and data dir (after the test stopped or killed it). */
  restartCloud(): Promise<FoglineProcess<Ready>>;
}

export async function startCloudSystem(
  run: FaultRun,
  edgeId: string,
  options: { env?: Record<string, string>; edgeArgs?: string[] } = {},
): Promise<CloudSystem> {
  const dataDir = await run.tempDir('fogline-faults-cloud-');
  const edgeDir = await run.tempDir('fogline-faults-edge-');
  const models = makeModelRepo(['digits-large']);
  run.later(() => rm(models, { recursive: true, force: true }));
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const startCloud = () =>
    run.start(
      [
        ...['cloud', '--host', '127.0.0.1', '--http-port', String(httpPort), '--mqtt-port', String(mqttPort)],
        ...['--data-dir', dataDir, '--models', models, '--workers', '1', '--intra-op-threads', '1'],
        ...['--controller', 'off'],
      ],
      options.env,
    );
  const cloud = await startCloud();
  const adminTarget = await resolveAdminTarget({ dataDir });
  const admin = new CloudAdminClient(adminTarget);
  const { token: edgeToken } = await admin.createEdge(edgeId);
  const tokens = new Map<string, string>();
  for (const d of [...DEVICES, WIRE]) tokens.set(d.id, (await admin.createDevice(d.id, edgeId)).token);
  const edge = await run.start(
    [
      ...['edge', '--id', edgeId, '--cloud', `http://127.0.0.1:${httpPort}`],
      ...['--cloud-broker', `mqtt://127.0.0.1:${mqttPort}`, '--host', '127.0.0.1', '--mqtt-port', '0'],
      ...['--data-dir', edgeDir, '--routing-score', 'entropy', '--threshold', '1', '--breaker-volume', '3'],
      ...['--breaker-reset-ms', '1000', '--workers', '1', '--device-publish-rate', '500', '--quiet'],
      ...(options.edgeArgs ?? []),
    ],
    { FOGLINE_EDGE_TOKEN: edgeToken },
  );
  const system: CloudSystem = {
    cloud,
    edge,
    admin,
    adminTarget,
    edgeId,
    edgeBroker: `mqtt://127.0.0.1:${edge.ready.mqtt.port}`,
    tokens,
    async restartCloud() {
      system.cloud = await startCloud();
      return system.cloud;
    },
  };
  return system;
}

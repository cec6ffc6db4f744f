/**
 * The faults suite's enrolled system: `fogline cloud` processes with auth on (one, on its own data
 * dir or PostgreSQL through `DATABASE_URL`; or several replicas of one cloud on one PostgreSQL
 * database, sharing the data dir as docs/scale-out.md says), an edge and its devices enrolled through
 * the admin API, and a `fogline edge` process given every replica's HTTP and broker URL, escalating
 * everything to the cloud model. Each replica keeps its ports across restarts (`restartCloud`).
 */
import { rm } from 'node:fs/promises';
import { type AdminTarget, CloudAdminClient, resolveAdminTarget } from '@fogline/cloud';
import { makeModelRepo } from '@fogline/cloud/testing';
import { freePort } from '@fogline/shared/testing';
import type { FoglineProcess } from '../../cli/src/testing/fogline-process.ts';
import { DEVICES, type FaultRun, type Ready, WIRE } from './fault-run.ts';

export interface CloudSystemOptions {
  /** Environment of the cloud processes (`DATABASE_URL`). */
  readonly env?: Record<string, string>;
  /** Replicas of the cloud (default 1); several need `DATABASE_URL` (PGlite is one process's). */
  readonly replicas?: number;
  /** More `fogline cloud` flags (`--redis-url`, …). */
  readonly cloudArgs?: readonly string[];
  /** The replicas the edge is given, in its order of preference (default: all, the first first). */
  readonly edgeOn?: readonly number[];
}

export interface CloudSystem {
  /** The replicas, in the order the edge prefers them. */
  readonly clouds: FoglineProcess<Ready>[];
  /** The first replica. */
  readonly cloud: FoglineProcess<Ready>;
  readonly edge: FoglineProcess<Ready>;
  /** Admin client of the first replica; `adminOf(i)` of another. */
  readonly admin: CloudAdminClient;
  adminOf(replica: number): CloudAdminClient;
  /** The first replica's URL and the admin token, for raw admin calls. */
  readonly adminTarget: AdminTarget;
  readonly edgeId: string;
  /** The edge's broker, for its devices. */
  readonly edgeBroker: string;
  /** Tokens of DEVICES and WIRE by id, as enrolled. */
  readonly tokens: Map<string, string>;
  /** Starts replica `replica` (default 0) again, same ports and data dir, after the test stopped it. */
  restartCloud(replica?: number): Promise<FoglineProcess<Ready>>;
}

export async function startCloudSystem(
  run: FaultRun,
  edgeId: string,
  options: CloudSystemOptions = {},
): Promise<CloudSystem> {
  const dataDir = await run.tempDir('fogline-faults-cloud-');
  const edgeDir = await run.tempDir('fogline-faults-edge-');
  const models = makeModelRepo(['digits-large']);
  run.later(() => rm(models, { recursive: true, force: true }));
  const ports: { http: number; mqtt: number }[] = [];
  for (let i = 0; i < (options.replicas ?? 1); i++)
    ports.push({ http: await freePort(), mqtt: await freePort() });
  const startCloud = ({ http, mqtt }: { http: number; mqtt: number }) =>
    run.start(
      [
        ...['cloud', '--host', '127.0.0.1', '--http-port', String(http), '--mqtt-port', String(mqtt)],
        ...['--data-dir', dataDir, '--models', models, '--workers', '1', '--intra-op-threads', '1'],
        ...['--controller', 'off', ...(options.cloudArgs ?? [])],
      ],
      options.env,
    );
  // One at a time: the first writes the admin token the others read.
  const clouds: FoglineProcess<Ready>[] = [];
  for (const p of ports) clouds.push(await startCloud(p));
  const target = await resolveAdminTarget({ dataDir });
  const adminOf = (replica: number) =>
    new CloudAdminClient({ ...target, url: `http://127.0.0.1:${ports[replica]!.http}` });
  const admin = adminOf(0);
  const { token: edgeToken } = await admin.createEdge(edgeId);
  const tokens = new Map<string, string>();
  for (const d of [...DEVICES, WIRE]) tokens.set(d.id, (await admin.createDevice(d.id, edgeId)).token);
  const given = (options.edgeOn ?? ports.map((_, i) => i)).map((i) => ports[i]!);
  const several = given.length > 1;
  const edge = await run.start(
    [
      ...['edge', '--id', edgeId, '--cloud', given.map((p) => `http://127.0.0.1:${p.http}`).join(',')],
      ...['--cloud-broker', given.map((p) => `mqtt://127.0.0.1:${p.mqtt}`).join(',')],
      ...['--host', '127.0.0.1', '--mqtt-port', '0', '--data-dir', edgeDir, '--routing-score', 'entropy'],
      ...['--threshold', '1', '--breaker-volume', '3', '--breaker-reset-ms', '1000', '--workers', '1'],
      ...['--device-publish-rate', '500', '--quiet'],
      ...(several
        ? [
            '--cloud-probe-interval-ms',
            '200',
            '--cloud-broker-failover-ms',
            '500',
            '--cloud-broker-failback-ms',
            '1000',
          ]
        : []),
    ],
    { FOGLINE_EDGE_TOKEN: edgeToken },
  );
  return {
    clouds,
    get cloud() {
      return clouds[0]!;
    },
    edge,
    admin,
    adminOf,
    adminTarget: { ...target, url: `http://127.0.0.1:${ports[0]!.http}` },
    edgeId,
    edgeBroker: `mqtt://127.0.0.1:${edge.ready.mqtt.port}`,
    tokens,
    async restartCloud(replica = 0) {
      clouds[replica] = await startCloud(ports[replica]!);
      return clouds[replica]!;
    },
  };
}

/** One admin call as an operator makes it: its status (0 when no answer in 15 s) and how long it took. */
export async function adminCall(url: string, token: string, path: string, body?: unknown) {
  const started = performance.now();
  try {
    const res = await fetch(`${url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, text, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return { status: 0, text: String(err), ms: Math.round(performance.now() - started) };
  }
}

/**
 * An edge on a cloud of two replicas (docs/scale-out.md "Failover"): two `fogline cloud` processes on
 * one PostgreSQL database, the edge given both (`cloudUrl` and `cloudBrokerUrl` lists, as
 * `fogline edge --cloud A,B --cloud-broker A,B`). Replica A killed with SIGKILL mid-stream: the
 * escalations go to B within seconds, the edge's cloud link moves to B and takes its desired state
 * from there, every device request is answered before its deadline; A back on its ports: the edge
 * returns to it. Real processes, sockets, brokers, onnxruntime and PostgreSQL; no Redis.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudAdminClient } from '@fogline/cloud';
import { connectMqtt, eventually, makeModelRepo } from '@fogline/cloud/testing';
import { connectDevice, type Device, type InferResult } from '@fogline/device-sdk';
import { type AgentFixture, ESCALATE_ALL, startTestAgent } from '@fogline/edge-agent/testing';
import { loadDigits } from '@fogline/shared/digits';
import { afterAll, describe, expect, it } from 'vitest';
import { type FoglineProcess, startFoglineProcess } from '../cli/src/testing/fogline-process.ts';
import { createScratchDatabase } from '../cloud/src/store/scratch-database.ts';

const digits = loadDigits('test');
const image = (i: number) => digits.images.subarray((i % 100) * 784, ((i % 100) + 1) * 784);

interface CloudReady {
  http: { port: number; url: string };
  mqtt: { port: number; url: string };
  adminTokenFile: string;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `fogline cloud` on `databaseUrl`; `ports` to come back on the ports of an earlier run. */
async function startReplica(
  databaseUrl: string,
  dataDir: string,
  models: string,
  ports?: { http: number; mqtt: number },
): Promise<FoglineProcess<CloudReady>> {
  const replica = await startFoglineProcess<CloudReady>(
    [
      ...['cloud', '--host', '127.0.0.1', '--data-dir', dataDir, '--models', models],
      ...['--http-port', String(ports?.http ?? 0), '--mqtt-port', String(ports?.mqtt ?? 0)],
      ...['--workers', '1', '--intra-op-threads', '1'],
    ],
    { env: { DATABASE_URL: databaseUrl } },
  );
  cleanups.push(() => replica.stop('SIGKILL'));
  return replica;
}

async function adminOf(replica: FoglineProcess<CloudReady>): Promise<CloudAdminClient> {
  const adminToken = (await readFile(replica.ready.adminTokenFile, 'utf8')).trim();
  return new CloudAdminClient({ url: replica.ready.http.url, adminToken });
}

async function openDevice(broker: string, id: string, token: string): Promise<Device> {
  const dev = await connectDevice({
    broker,
    deviceId: id,
    token,
    edgeId: 'edge-fo',
    runtime: 'node',
    policy: { score: 'margin', threshold: 1 }, // the device always asks its edge
    reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
  });
  cleanups.push(() => dev.close());
  return dev;
}

describe('an edge on two cloud replicas', { timeout: 240_000 }, () => {
  it('moves to replica B when A is killed mid-stream, and back to A when it returns', async () => {
    const database = await createScratchDatabase();
    const models = makeModelRepo(['digits-large']);
    cleanups.push(() => database.drop());
    cleanups.push(() => rm(models, { recursive: true, force: true }));
    const dirA = await tempDir('fogline-replica-a-');
    let a = await startReplica(database.url, dirA, models);
    const adminA = await adminOf(a);
    const { token } = await adminA.createEdge('edge-fo');
    const device = await adminA.createDevice('dev-fo', 'edge-fo');
    // B starts on the same database after the enrolments: it publishes the edge's desired state too.
    const b = await startReplica(database.url, await tempDir('fogline-replica-b-'), models);
    const [httpA, httpB] = [a.ready.http.url, b.ready.http.url];
    const [mqttA, mqttB] = [a.ready.mqtt.url, b.ready.mqtt.url];

    const edge: AgentFixture = await startTestAgent({
      edgeId: 'edge-fo',
      token,
      cloudUrl: [httpA, httpB],
      cloudBrokerUrl: [mqttA, mqttB],
      cloudProbeIntervalMs: 200,
      cloudBrokerFailoverMs: 500,
      cloudBrokerFailbackMs: 500,
      ...ESCALATE_ALL,
      replyMarginMs: 100, // the reply reaches the device before its own deadline on a loaded box
    });
    cleanups.push(() => edge.stop());
    await eventually(
      () => edge.agent.cloudLinkUrl === mqttA && edge.agent.deviceListVersion !== undefined,
      20_000,
    );
    const dev = await openDevice(edge.url, 'dev-fo', device.token);
    await eventually(async () => (await dev.infer(image(0), { deadlineMs: 5000 })).tier === 'cloud', 20_000);
    expect(edge.agent.cloudActiveUrl).toBe(httpA);

    const deadlineMs = 2000;
    let killed = false;
    let streaming = true;
    const answers: { afterKill: boolean; result: InferResult }[] = [];
    const stream = async (worker: number) => {
      for (let i = worker; streaming; i += 3) {
        const afterKill = killed;
        answers.push({ afterKill, result: await dev.infer(image(i), { deadlineMs }) });
      }
    };
    const workers = Promise.all([0, 1, 2].map(stream));
    await eventually(() => answers.length >= 6, 20_000);
    await a.stop('SIGKILL');
    killed = true;
    // The escalations go on, to B, within seconds.
    const cloudAfterKill = () => answers.filter((x) => x.afterKill && x.result.tier === 'cloud').length;
    await eventually(() => cloudAfterKill() >= 6, 15_000);
    expect(edge.agent.cloudActiveUrl).toBe(httpB);
    expect(edge.agent.breakerState).toBe('closed'); // the cloud as a whole never went away
    // The link moves to B's broker, and the desired state B publishes reaches the edge.
    await eventually(() => edge.agent.cloudLinkUrl === mqttB, 15_000);
    const adminB = await adminOf(b);
    const added = await adminB.createDevice('dev-fo-2', 'edge-fo');
    await eventually(async () => {
      const outcome = await connectMqtt(edge.url, 'dev-fo-2', added.token);
      if (outcome.ok) await outcome.client.endAsync();
      return outcome.ok;
    }, 15_000);

    // A back on its ports: the ready probe and the link's failback take the edge back to it.
    a = await startReplica(database.url, dirA, models, { http: a.ready.http.port, mqtt: a.ready.mqtt.port });
    await eventually(() => edge.agent.cloudActiveUrl === httpA && edge.agent.cloudLinkUrl === mqttA, 30_000);
    streaming = false;
    await workers; // rejects if any request did
    const last = await dev.infer(image(99), { deadlineMs: 5000 });
    expect(last.tier).toBe('cloud');

    // Every request answered before its deadline: by the cloud, or at the edge, flagged degraded.
    for (const { result } of answers) {
      expect(result.latencyMs.total).toBeLessThan(deadlineMs);
      if (result.tier !== 'cloud') expect(result.degraded).toBe(true);
    }
    expect(answers.filter((x) => x.afterKill).length).toBeGreaterThanOrEqual(6);
  });
});

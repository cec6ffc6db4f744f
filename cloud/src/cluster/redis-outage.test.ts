/**
 * Two cloud replicas through a Redis outage that Redis survives with its data (a restart with
 * persistence, a network cut): the broker cluster's view of which replica is alive (docs/scale-out.md
 * "The broker cluster"). Two real CloudServers in this process, real MQTT.js clients, a redis-server
 * of this test's own with an append-only file, killed and started again on the same port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topics } from '@fogline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
import { createScratchDatabase, type ScratchDatabase } from '../store/scratch-database.ts';
import { eventually, type FabricCloud, mustConnect, startFabricCloud } from '../testing/fabric-fixture.ts';

const HEARTBEAT_MS = 200;
let dir = '';
let port = 0;
let redis: ChildProcess | undefined;
let database: ScratchDatabase;
let a: FabricCloud;
let b: FabricCloud;

async function startRedis(): Promise<void> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  const server = spawn('redis-server', [...args, '--appendonly', 'yes', '--appendfsync', 'always'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  redis = server;
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${seen}`)));
    server.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('Ready to accept connections')) resolve();
    });
  });
}

async function killRedis(): Promise<void> {
  if (!redis || redis.exitCode !== null || redis.signalCode !== null) return;
  const gone = once(redis, 'exit');
  redis.kill('SIGKILL');
  await gone;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-redis-outage-'));
  port = await freePort();
  await startRedis();
  database = await createScratchDatabase();
  const replica = {
    databaseUrl: database.url,
    redisUrl: `redis://127.0.0.1:${port}`,
    replicaHeartbeatMs: HEARTBEAT_MS,
    models: ['digits-tiny'],
    cloudModel: 'digits-tiny',
  };
  a = await startFabricCloud(replica);
  b = await startFabricCloud(replica);
}, 60_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await database?.drop();
  await killRedis();
  await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('two cloud replicas through a Redis outage that keeps its data', () => {
  it('keep an edge connected to B online: neither takes the other for dead and sends its wills', async () => {
    const { token } = await a.admin.createEdge('outage-edge');
    const status = topics.status('outage-edge');
    const will = { topic: status, payload: Buffer.from('offline'), qos: 1 as const, retain: true };
    const onB = await mustConnect(b.mqttUrl, 'outage-edge', token, { will });
    try {
      await onB.publishAsync(status, 'online', { qos: 1, retain: true });
      await eventually(() => a.server.fabric.presence.view('outage-edge').status === 'online');
      const seen = new Set<string>();
      const watch = setInterval(() => {
        for (const replica of [a, b])
          seen.add(String(replica.server.fabric.presence.view('outage-edge').status));
      }, 50);
      // Down for 10 heartbeats (Aedes takes a replica silent for 3 for dead), then back with its data.
      await killRedis();
      await new Promise((resolve) => setTimeout(resolve, 10 * HEARTBEAT_MS));
      await startRedis();
      // Long enough for several sweeps of the wills (every 4 heartbeats) once both are back.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      clearInterval(watch);
      expect(onB.connected).toBe(true);
      expect([...seen]).toEqual(['online']);
      const retained = await a.server.cluster!.redis.hgetBuffer('fogline:broker:retained', status);
      expect(retained?.toString()).toContain('online');
    } finally {
      onB.end(true);
    }
  });
});

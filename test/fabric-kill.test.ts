/**
 * The tiers dying without a goodbye (docs/design.md "Resilience"): the cloud and the edge run as separate
 * `fogline` processes and are killed with SIGKILL, as a crash or an OOM kill would. Killed cloud: the
 * edge's breaker opens and every request is still answered before its deadline, flagged degraded.
 * Killed edge: devices answer locally, flagged degraded, and go back to the edge when it returns on the
 * same port. Real sockets on 127.0.0.1, real Aedes brokers, real onnxruntime sessions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually, makeModelRepo } from '@fogline/cloud/testing';
import { connectDevice, type Device, type InferResult } from '@fogline/device-sdk';
import { type AgentFixture, seedDeviceList, startTestAgent } from '@fogline/edge-agent/testing';
import { loadDigits } from '@fogline/shared/digits';
import { freePort } from '@fogline/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';

const FOGLINE = fileURLToPath(new URL('../cli/bin/fogline.js', import.meta.url));
const digits = loadDigits('test');
const image = (i: number) => digits.images.subarray((i % 100) * 784, ((i % 100) + 1) * 784);
const device = { id: 'dev-1', token: 'tok-1' };
/** The device always asks its edge (a margin never reaches 1). */
const escalate = { score: 'margin' as const, threshold: 1 };

interface Tier {
  child: ChildProcess;
  ready: { http?: { url: string }; mqtt: { port: number } };
  /** SIGKILL; resolves once the process is gone (its sockets closed by the kernel). */
  kill(): Promise<void>;
}

const children = new Set<ChildProcess>();
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** Spawns `fogline <args>` and resolves with its JSON ready line (rejects with stderr if it exits). */
function startTier(args: string[], env: Record<string, string> = {}): Promise<Tier> {
  const child = spawn(process.execPath, [FOGLINE, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const kill = async () => {
    child.kill('SIGKILL');
    await exited;
    children.delete(child);
  };
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) =>
      resolve({ child, ready: JSON.parse(line), kill }),
    );
    void exited.then(() => reject(new Error(`fogline ${args[0]} exited before ready: ${stderr}`)));
  });
}

async function openDevice(broker: string, edgeId: string): Promise<Device> {
  const dev = await connectDevice({
    broker,
    deviceId: device.id,
    token: device.token,
    edgeId,
    runtime: 'node',
    policy: escalate,
    reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
  });
  cleanups.push(() => dev.close());
  return dev;
}

describe('tiers killed with SIGKILL', { timeout: 60_000 }, () => {
  it('cloud killed: the breaker opens and every request is answered before its deadline, degraded', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fogline-kill-cloud-'));
    const models = makeModelRepo(['digits-large']);
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    cleanups.push(() => rm(models, { recursive: true, force: true }));
    const cloud = await startTier([
      ...['cloud', '--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0', '--no-auth'],
      ...['--data-dir', dataDir, '--models', models],
      ...['--workers', '1', '--intra-op-threads', '1'],
    ]);
    const edge: AgentFixture = await startTestAgent({
      devices: [device],
      cloudUrl: cloud.ready.http!.url,
      deviceListPollMs: 0,
      routingScore: 'entropy', // an entropy score never reaches 1: the edge escalates everything
      routingThreshold: 1,
      breaker: { volumeThreshold: 3, resetTimeoutMs: 60_000 },
    });
    cleanups.push(() => edge.stop());
    const dev = await openDevice(edge.url, 'edge-test');

    for (let i = 0; i < 3; i++) {
      expect(await dev.infer(image(i), { deadlineMs: 3000 })).toMatchObject({
        tier: 'cloud',
        degraded: false,
      });
    }

    const deadlineMs = 800;
    let killed = false;
    let streaming = true;
    const answers: { afterKill: boolean; result: InferResult }[] = [];
    const stream = async (worker: number) => {
      for (let i = worker; streaming; i += 4) {
        const afterKill = killed;
        answers.push({ afterKill, result: await dev.infer(image(i), { deadlineMs }) });
      }
    };
    const workers = Promise.all([0, 1, 2, 3].map(stream));
    await eventually(() => answers.length >= 8, 5000);
    await cloud.kill();
    killed = true;
    await eventually(() => edge.agent.breakerState === 'open', 5000);
    const opened = answers.length;
    await eventually(() => answers.length >= opened + 8, 5000);
    streaming = false;
    await workers; // rejects if any request did

    for (const { afterKill, result } of answers) {
      expect(result.latencyMs.total).toBeLessThan(deadlineMs);
      if (afterKill) expect(result).toMatchObject({ tier: 'edge', degraded: true });
      else expect(['cloud', 'edge']).toContain(result.tier);
    }
    expect(answers.filter((a) => a.afterKill).length).toBeGreaterThanOrEqual(8);
    // Once open, the breaker answers for the cloud: no wait on a connection at all.
    const fast = await dev.infer(image(7), { deadlineMs });
    expect(fast).toMatchObject({ tier: 'edge', degraded: true });
    expect(fast.latencyMs.total).toBeLessThan(deadlineMs / 2);
    expect(edge.agent.breakerState).toBe('open');
  });

  it('edge killed: the device answers locally, degraded, and goes back to the edge when it returns', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fogline-kill-edge-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    await seedDeviceList(dataDir, [device]);
    const port = await freePort();
    const startEdge = () =>
      startTier(
        [
          ...['edge', '--id', 'edge-kill', '--cloud', 'http://127.0.0.1:1', '--device-list-poll-ms', '0'],
          ...['--host', '127.0.0.1', '--mqtt-port', String(port), '--data-dir', dataDir],
          ...['--threshold', '0', '--workers', '1', '--quiet'], // the edge answers everything itself
        ],
        { FOGLINE_EDGE_TOKEN: 'edge-token' },
      );
    const first = await startEdge();
    expect(first.ready.mqtt.port).toBe(port);
    const dev = await openDevice(`mqtt://127.0.0.1:${port}`, 'edge-kill');
    for (let i = 0; i < 3; i++) {
      expect(await dev.infer(image(i), { deadlineMs: 3000 })).toMatchObject({
        tier: 'edge',
        degraded: false,
      });
    }

    const deadlineMs = 500;
    const asked = (from: number) => [0, 1, 2].map((i) => dev.infer(image(from + i), { deadlineMs }));
    const during = asked(3); // in flight while the edge dies: answered by it, or locally
    await first.kill();
    const after = await Promise.all(asked(6)); // the edge is gone: locally, degraded
    await eventually(() => dev.state === 'offline', 5000);
    after.push(await dev.infer(image(9), { deadlineMs }));
    for (const result of [...(await Promise.all(during)), ...after]) {
      expect(result.latencyMs.total).toBeLessThan(deadlineMs);
      if (result.tier === 'edge') expect(result.degraded).toBe(false);
      else expect(result).toMatchObject({ tier: 'device', degraded: true });
    }
    for (const result of after) expect(result).toMatchObject({ tier: 'device', degraded: true });

    const second = await startEdge(); // same port, same data dir (its cached device list)
    expect(second.ready.mqtt.port).toBe(port);
    await eventually(() => dev.state === 'online', 10_000);
    expect(await dev.infer(image(12), { deadlineMs: 2000 })).toMatchObject({ tier: 'edge', degraded: false });
    await second.kill();
  });
});

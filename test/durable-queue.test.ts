/**
 * The device's durable store and forward (docs/device-sdk.md "Offline: the durable store") against a
 * real edge agent, stopped and started again on the same port: requests made while the edge is down
 * are answered once it is back, in order, once each; a device process killed with SIGKILL mid-queue
 * and started again replays the queue and the application sees each answer once; the byte cap refuses
 * with RESOURCE_EXHAUSTED; expired requests fail with DEADLINE_EXCEEDED and leave no file behind.
 * Real sockets on 127.0.0.1, the real Aedes broker in the agent, onnxruntime-node, real processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { eventually } from '@fogline/cloud/testing';
import { connectDevice, type Device, type InferResult, type StoredAnswer } from '@fogline/device-sdk';
import { type AgentFixture, makeDataDir, startTestAgent } from '@fogline/edge-agent/testing';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';
import { freePort } from '@fogline/shared/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./support/durable-device.ts', import.meta.url));
const digits = loadDigits('test');
const image = (i: number) => digits.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);
const credential = { id: 'dev-q', token: 'tok-q' };
const ALWAYS_ESCALATE = { score: 'margin', threshold: 1 } as const;

let edgeDataDir: string;
let port: number;
let edge: AgentFixture | undefined;
const cleanups: (() => Promise<unknown>)[] = [];

/** The edge agent on its fixed port and data dir, answering every request itself (no cloud). */
async function startEdge(): Promise<void> {
  edge = await startTestAgent({
    dataDir: edgeDataDir,
    devices: [credential],
    routingThreshold: 0,
    localBroker: {
      kind: 'embedded',
      host: '127.0.0.1',
      mqttPort: port,
      publishRate: { ratePerSec: 10_000, burst: 10_000 },
    },
  });
}

async function stopEdge(): Promise<void> {
  await edge?.stop();
  edge = undefined;
}

async function queueDir(): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'fogline-device-queue-'));
  cleanups.push(() => rm(parent, { recursive: true, force: true }));
  return join(parent, 'queue');
}

const segmentFiles = async (dir: string) => (await readdir(dir)).filter((f) => f.startsWith('seg-'));

beforeAll(async () => {
  edgeDataDir = await makeDataDir();
  port = await freePort();
});

afterEach(async () => {
  await stopEdge();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

afterAll(async () => {
  await rm(edgeDataDir, { recursive: true, force: true });
});

async function device(dir: string, store: { maxBytes?: number; ttlMs?: number } = {}): Promise<Device> {
  const d = await connectDevice({
    broker: `mqtt://127.0.0.1:${port}`,
    deviceId: credential.id,
    token: credential.token,
    edgeId: 'edge-test',
    runtime: 'node',
    policy: ALWAYS_ESCALATE,
    deadlineMs: 5_000,
    connectTimeoutMs: 2_000,
    reconnect: { initialDelayMs: 50, maxDelayMs: 250 },
    offline: { store: 'file', dir, ttlMs: 120_000, ...store },
  });
  cleanups.push(() => d.close());
  return d;
}

describe('durable store and forward, one device process', () => {
  it('answers requests made while the edge was down once it is back: in order, once each, then frees the disk', async () => {
    await startEdge();
    const dir = await queueDir();
    const d = await device(dir);
    expect(d.state).toBe('online');
    await stopEdge();
    await eventually(() => d.state !== 'online', 30_000);

    const order: string[] = [];
    const calls = Array.from({ length: 12 }, (_, i) =>
      d.infer(image(i)).then((r) => {
        order.push(r.requestId);
        return r;
      }),
    );
    await eventually(() => d.stats().store?.queued === 12, 30_000);
    expect((await segmentFiles(dir)).length).toBeGreaterThan(0);

    await startEdge();
    const results: InferResult[] = await Promise.all(calls);
    for (const [i, r] of results.entries()) {
      expect(r).toMatchObject({ tier: 'edge', degraded: false });
      expect(r.label).toBe(digits.labels[i]);
    }
    expect(order).toEqual(results.map((r) => r.requestId));
    expect(new Set(order).size).toBe(12);
    expect(d.stats().store).toMatchObject({ stored: 12, answered: 12, expired: 0, refused: 0, queued: 0 });
    // The files go once the last done line is synced (the group commit after the last answer).
    await eventually(async () => d.stats().store?.bytes === 0 && (await segmentFiles(dir)).length === 0);
    expect(d.stats().store?.diskErrors).toBe(0);
  }, 120_000);

  it('refuses a request past maxBytes with RESOURCE_EXHAUSTED and still answers the stored ones', async () => {
    const dir = await queueDir();
    // One stored request is ~4.3 KB (a 28×28 FP32 input in base64): two fit in 10 KB, not three.
    const d = await device(dir, { maxBytes: 10_000 });
    expect(d.state).not.toBe('online');
    const first = d.infer(image(0));
    const second = d.infer(image(1));
    await eventually(() => d.stats().store?.queued === 2, 30_000);
    await expect(d.infer(image(2))).rejects.toMatchObject({
      code: 'RESOURCE_EXHAUSTED',
      message: expect.stringMatching(/durable queue .* is full/),
    });
    expect(d.stats().store).toMatchObject({ queued: 2, refused: 1 });

    await startEdge();
    expect((await first).label).toBe(digits.labels[0]);
    expect((await second).label).toBe(digits.labels[1]);
    await eventually(async () => (await segmentFiles(dir)).length === 0);
  }, 120_000);

  it('drops a request at its TTL with DEADLINE_EXCEEDED, counted, and its file goes', async () => {
    const dir = await queueDir();
    const d = await device(dir, { ttlMs: 1_500 });
    const call = d.infer(image(0));
    await eventually(() => d.stats().store?.queued === 1, 30_000);
    expect((await segmentFiles(dir)).length).toBe(1);
    await expect(call).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(d.stats().store).toMatchObject({ queued: 0, expired: 1 });
    await eventually(async () => d.stats().store?.bytes === 0 && (await segmentFiles(dir)).length === 0);
  }, 60_000);
});

interface DeviceProcess {
  readonly lines: Record<string, unknown>[];
  /** Resolves with the first line (already printed or to come) that `match` accepts. */
  line(match: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(): Promise<void>;
}

/** Runs test/support/durable-device.ts in its own Node process (through tsx), as an application would. */
function startDeviceProcess(dir: string, env: Record<string, string>): DeviceProcess {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: {
      ...process.env,
      BROKER: `mqtt://127.0.0.1:${port}`,
      DIR: dir,
      DEVICE_ID: credential.id,
      TOKEN: credential.token,
      EDGE_ID: 'edge-test',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(JSON.parse(l)));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  cleanups.push(kill);
  return {
    lines,
    async line(match, timeoutMs = 60_000) {
      await eventually(() => {
        if (child.exitCode !== null) throw new Error(`device process exited ${child.exitCode}: ${stderr}`);
        return lines.some(match);
      }, timeoutMs).catch((err: Error) => {
        throw new Error(`${err.message}; stderr: ${stderr}`);
      });
      return lines.find(match)!;
    },
    kill,
  };
}

const answersOf = (p: DeviceProcess) => p.lines.filter((l) => 'answer' in l);

describe('durable store and forward across device processes killed with SIGKILL', () => {
  it('replays the queue after each restart; the application sees each answer once', async () => {
    const dir = await queueDir();
    const count = 30;

    // 1: the edge is down; the process stores its 30 requests and is killed before any answer.
    const first = startDeviceProcess(dir, { COUNT: String(count) });
    await first.line((l) => l.queued === count);
    await first.kill();
    expect(answersOf(first)).toEqual([]);

    // 2: the edge is back; the replay starts, and the process is killed right after its first answer
    // (it holds its event loop there), with the rest sent or queued.
    await startEdge();
    const second = startDeviceProcess(dir, { HOLD: '1' });
    expect(await second.line((l) => l.ready === true)).toMatchObject({ replayed: count });
    await second.line((l) => 'answer' in l);
    await second.kill();
    expect(answersOf(second)).toHaveLength(1);

    // 3: the rest, once each, although the edge got some of them twice (sent by 2 and again by 3).
    const third = startDeviceProcess(dir, {});
    expect(await third.line((l) => l.ready === true)).toMatchObject({ replayed: count - 1 });
    await third.line((l) => l.drained === true);
    const answers = [...answersOf(second), ...answersOf(third)] as StoredAnswerLine[];
    for (const a of answers) expect(a.error).toBeUndefined();
    // Process 1's ids are `<prefix>-<n>` for its n-th request: each n exactly once, with its digit's label.
    const byIndex = answers.map((a) => Number(/-(\d+)$/.exec(a.answer)![1]));
    expect([...byIndex].sort((x, y) => x - y)).toEqual(Array.from({ length: count }, (_, i) => i));
    for (const [k, a] of answers.entries()) expect(a.label).toBe(digits.labels[byIndex[k]!]);
    // The edge does not dedupe: it answered every copy it got (process 2 sent a window of 16 before
    // its kill; process 3 sent the 29 left again). The device's store let each through once.
    expect(edge!.agent.telemetry().counts.received).toBeGreaterThan(count);
    await third.kill();
    expect(await segmentFiles(dir)).toEqual([]);
  }, 240_000);
});

type StoredAnswerLine = { answer: StoredAnswer['requestId']; label?: number; error?: string };

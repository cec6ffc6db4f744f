/**
 * A device at a site with two edges (docs/device-sdk.md "Two edges"): `broker: [edge A, edge B]`, each
 * edge knowing the device. Edge A killed with SIGKILL mid-stream: the device moves to B at its first
 * reconnect; the requests in flight are sent again there (offline: 'queue') and every request is
 * answered once, before its deadline. Edge A back on its port: the device returns to it. Real
 * `fogline edge` processes, sockets, Aedes brokers and onnxruntime.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@fogline/cloud/testing';
import { connectDevice, type InferResult } from '@fogline/device-sdk';
import { seedDeviceList, UNREACHABLE_CLOUD_URL } from '@fogline/edge-agent/testing';
import { loadDigits } from '@fogline/shared/digits';
import { afterAll, describe, expect, it } from 'vitest';
import { type FoglineProcess, startFoglineProcess } from '../cli/src/testing/fogline-process.ts';

const digits = loadDigits('test');
const image = (i: number) => digits.images.subarray((i % 100) * 784, ((i % 100) + 1) * 784);
const device = { id: 'dev-two', token: 'tok-two' };

interface EdgeReady {
  mqtt: { port: number };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** `fogline edge` answering every request itself, with the device in its cached list. */
async function startEdge(id: string, dataDir: string, port = 0): Promise<FoglineProcess<EdgeReady>> {
  const edge = await startFoglineProcess<EdgeReady>(
    [
      ...['edge', '--id', id, '--cloud', UNREACHABLE_CLOUD_URL, '--device-list-poll-ms', '0'],
      ...['--host', '127.0.0.1', '--mqtt-port', String(port), '--data-dir', dataDir],
      ...['--threshold', '0', '--workers', '1', '--sizing', 'default', '--quiet'],
    ],
    { env: { FOGLINE_EDGE_TOKEN: `${id}-token` } },
  );
  cleanups.push(() => edge.stop('SIGKILL'));
  return edge;
}

async function edgeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fogline-two-edges-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await seedDeviceList(dir, [device]);
  return dir;
}

describe('a device with two edges', { timeout: 120_000 }, () => {
  it('goes on through edge B when edge A is killed, and returns to A when it is back', async () => {
    const dirA = await edgeDir();
    let a = await startEdge('edge-a', dirA);
    const b = await startEdge('edge-b', await edgeDir());
    const urlA = `mqtt://127.0.0.1:${a.ready.mqtt.port}`;
    const urlB = `mqtt://127.0.0.1:${b.ready.mqtt.port}`;
    const dev = await connectDevice({
      broker: [urlA, urlB],
      edgeId: ['edge-a', 'edge-b'],
      deviceId: device.id,
      token: device.token,
      runtime: 'node',
      policy: { score: 'margin', threshold: 1 }, // the device always asks its edge
      offline: 'queue', // a request in flight when its edge dies is sent again to the next one
      reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
      failbackMs: 300,
    });
    cleanups.push(() => dev.close());
    expect(dev.broker).toBe(urlA);
    expect(await dev.infer(image(0), { deadlineMs: 5000 })).toMatchObject({ tier: 'edge', degraded: false });

    const deadlineMs = 3000;
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
    await eventually(() => answers.length >= 6, 10_000);
    await a.stop('SIGKILL');
    killed = true;
    const fromEdgeAfterKill = () => answers.filter((x) => x.afterKill && x.result.tier === 'edge').length;
    await eventually(() => fromEdgeAfterKill() >= 6, 15_000);
    expect(dev.broker).toBe(urlB);

    a = await startEdge('edge-a', dirA, a.ready.mqtt.port);
    await eventually(() => dev.broker === urlA && dev.state === 'online', 20_000);
    const back = answers.length;
    await eventually(() => answers.length >= back + 6, 10_000);
    streaming = false;
    await workers;

    // Every request answered once, before its deadline; by an edge, else locally with the reason.
    const stats = dev.stats();
    expect(stats.answeredUpstream + stats.fallbacks).toBe(answers.length + 1);
    for (const { result } of answers) {
      expect(result.latencyMs.total).toBeLessThan(deadlineMs);
      if (result.tier === 'edge') expect(result.degraded).toBe(false);
      else expect(result.fallback?.code).toBeDefined();
    }
    expect(answers.filter((x) => x.result.tier === 'edge').length).toBeGreaterThan(answers.length * 0.9);
  });
});

/**
 * Late corrections end to end (docs/edge-agent.md "Late corrections", docs/device-sdk.md): a real
 * cloud gateway cut off by stopping it and starting it again on the same data dir and port, a real
 * edge agent (embedded broker, digits-mid-int8) and a real SDK device (digits-tiny) that asks its
 * edge about everything. Test digit 393 is one the edge and cloud models disagree on (mid: 0,
 * large: 2); digit 0 one they agree on.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudServer } from '@fogline/cloud';
import { eventually, makeModelRepo } from '@fogline/cloud/testing';
import { connectDevice, type Device, type LateCorrection } from '@fogline/device-sdk';
import { type AgentFixture, ESCALATE_ALL, startTestAgent } from '@fogline/edge-agent/testing';
import { loadDigits } from '@fogline/shared/digits';
import { freePort } from '@fogline/shared/testing';
import { afterAll, describe, expect, it } from 'vitest';

const digits = loadDigits('test');
const image = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);
const DISAGREE = 393;
const AGREE = 0;
const device = { id: 'dev-1', token: 'tok-1' };

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** A cloud that can be stopped and started again on the same port and data dir. */
async function restartableCloud(limits?: { edgeRate: { ratePerSec: number; burst: number } }) {
  const dataDir = await mkdtemp(join(tmpdir(), 'fogline-late-cloud-'));
  const modelsDir = makeModelRepo(['digits-large']);
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  cleanups.push(() => rm(modelsDir, { recursive: true, force: true }));
  const port = await freePort();
  let server: CloudServer | undefined;
  let adminToken = '';
  const cloud = {
    url: `http://127.0.0.1:${port}`,
    async start() {
      server = new CloudServer({
        ...{
          httpPort: port,
          host: '127.0.0.1',
          mqttPort: null,
          dataDir,
          modelsDir,
          auth: limits !== undefined,
        },
        ...(limits && { edgeRate: limits.edgeRate }),
        serving: { workers: 1, intraOpThreads: 1 },
      });
      adminToken = (await server.start()).adminToken.token;
    },
    /** Enrols through the admin API (with auth on): `{ token }`. */
    async enrol(path: 'edges' | 'devices', body: Record<string, string>): Promise<string> {
      const res = await fetch(`${cloud.url}/api/${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}` },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`enrol ${path}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async stop() {
      await server?.stop();
      server = undefined;
    },
  };
  cleanups.push(() => cloud.stop());
  await cloud.start();
  return cloud;
}

/** An edge on `mqttPort` (0: any) that escalates everything; `tokens` when the cloud checks them. */
async function startEdge(
  cloudUrl: string,
  dataDir: string,
  mqttPort: number,
  ttlMs = 120_000,
  tokens?: { edge: string },
  withMetrics = false,
) {
  const edge = await startTestAgent({
    ...(withMetrics && { metrics: { port: 0 } }),
    // With tokens, the device list comes from the cloud (fetched once at start).
    ...(tokens ? { token: tokens.edge } : { devices: [device] }),
    dataDir,
    localBroker: { kind: 'embedded', host: '127.0.0.1', mqttPort },
    cloudUrl,
    deviceListPollMs: 0,
    ...ESCALATE_ALL,
    breaker: { volumeThreshold: 2, consecutiveFailures: 2, resetTimeoutMs: 300 },
    lateCorrectionsTtlMs: ttlMs,
  });
  cleanups.push(() => edge.stop());
  return edge;
}

async function openDevice(
  edge: AgentFixture,
  token = device.token,
): Promise<{ dev: Device; got: LateCorrection[] }> {
  const dev = await connectDevice({
    broker: edge.url,
    deviceId: device.id,
    token,
    edgeId: edge.info.edgeId,
    runtime: 'node',
    policy: { score: 'margin', threshold: 1 }, // a margin never reaches 1: the device asks its edge
    reconnect: { initialDelayMs: 100, maxDelayMs: 400 },
  });
  cleanups.push(() => dev.close());
  const got: LateCorrection[] = [];
  dev.on('correction', (c) => got.push(c));
  return { dev, got };
}

async function edgeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fogline-late-edge-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('late corrections', { timeout: 180_000 }, () => {
  it('corrects a degraded answer once the cloud is back, when the cloud disagrees; once per request id, across an edge restart', async () => {
    const cloud = await restartableCloud();
    const dataDir = await edgeDir();
    const mqttPort = await freePort();
    let edge = await startEdge(cloud.url, dataDir, mqttPort);
    const { dev, got } = await openDevice(edge);
    expect(await dev.infer(image(AGREE), { deadlineMs: 5000 })).toMatchObject({ tier: 'cloud' });

    await cloud.stop();
    const wrong = await dev.infer(image(DISAGREE), { deadlineMs: 5000 });
    const right = await dev.infer(image(AGREE), { deadlineMs: 5000 });
    for (const r of [wrong, right]) {
      expect(r).toMatchObject({ tier: 'edge', degraded: true, fallback: { code: 'UNAVAILABLE' } });
    }
    expect(wrong.label).toBe(0);
    await eventually(() => edge.agent.lateCorrectionCounts()?.pending === 2, 10_000);

    // The edge restarts while the cloud is still down: the waiting answers are on disk.
    await edge.stop();
    const files = await readdir(join(dataDir, 'late-corrections'));
    expect(files.length).toBeGreaterThan(0);
    edge = await startEdge(cloud.url, dataDir, mqttPort);
    expect(edge.agent.lateCorrectionCounts()).toMatchObject({ pending: 2, corrections: 0 });
    await eventually(() => dev.state === 'online', 20_000);

    await cloud.start();
    await eventually(() => got.length >= 1, 60_000);
    await eventually(() => {
      const c = edge.agent.lateCorrectionCounts();
      return c?.pending === 0 && c.corrected === 1 && c.agreed === 1;
    }, 30_000);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      requestId: wrong.requestId,
      old: { tier: 'edge', label: 0, model: 'digits-mid-int8:1' },
      new: { tier: 'cloud', label: 2, model: 'digits-large:1' },
    });

    // Redelivery: the device reconnects to a restarted edge, which sends its corrections again.
    await edge.stop();
    await eventually(() => dev.state !== 'online', 10_000);
    edge = await startEdge(cloud.url, dataDir, mqttPort);
    expect(edge.agent.lateCorrectionCounts()).toMatchObject({ corrections: 1 });
    await eventually(() => dev.state === 'online', 20_000);
    await eventually(() => dev.stats().corrections.repeats >= 1, 20_000);
    expect(got).toHaveLength(1);
    expect(dev.stats().corrections.emitted).toBe(1);
  });

  it('a device offline when its correction is made gets it when it connects again', async () => {
    const cloud = await restartableCloud();
    const edge = await startEdge(cloud.url, await edgeDir(), 0, undefined, undefined, true);
    const first = await openDevice(edge);
    await cloud.stop();
    const wrong = await first.dev.infer(image(DISAGREE), { deadlineMs: 5000 });
    expect(wrong).toMatchObject({ tier: 'edge', degraded: true });
    await first.dev.close(); // the application stops; its device is gone while the cloud returns

    await cloud.start();
    await eventually(() => edge.agent.lateCorrectionCounts()?.corrected === 1, 60_000);
    const second = await openDevice(edge);
    await eventually(() => second.got.length === 1, 20_000);
    expect(second.got[0]).toMatchObject({ requestId: wrong.requestId, old: { label: 0 }, new: { label: 2 } });
    // What an operator's Prometheus reads of it on the edge's /metrics.
    const metrics = await (await fetch(`http://127.0.0.1:${edge.info.metrics!.port}/metrics`)).text();
    expect(metrics).toContain('fogline_edge_late_corrections_checked_total{outcome="corrected"} 1');
    expect(metrics).toContain('fogline_edge_late_corrections_pending 0');
    expect(metrics).toContain('fogline_edge_late_corrections_sent_total 1');
    expect(metrics).toContain('fogline_edge_late_corrections_dropped_total{reason="full"} 0');
  });

  it("drains at the pace the cloud allows: on RATE_LIMITED it waits the cloud's Retry-After", async () => {
    const cloud = await restartableCloud({ edgeRate: { ratePerSec: 1, burst: 1 } });
    const edgeToken = await cloud.enrol('edges', { id: 'edge-test' });
    const deviceToken = await cloud.enrol('devices', { id: device.id, edge: 'edge-test' });
    const edge = await startEdge(cloud.url, await edgeDir(), 0, 120_000, { edge: edgeToken });
    await eventually(() => edge.agent.deviceListVersion !== undefined, 20_000);
    const { dev, got } = await openDevice(edge, deviceToken);
    await cloud.stop();
    const asked = [DISAGREE, AGREE, DISAGREE, AGREE];
    const answers = [];
    for (const i of asked) answers.push(await dev.infer(image(i), { deadlineMs: 5000 }));
    for (const r of answers) expect(r).toMatchObject({ tier: 'edge', degraded: true });
    await eventually(() => edge.agent.lateCorrectionCounts()?.pending === 4, 10_000);

    await cloud.start(); // one call per second for this edge
    await eventually(() => edge.agent.lateCorrectionCounts()?.pending === 0, 120_000);
    const counts = edge.agent.lateCorrectionCounts();
    expect(counts).toMatchObject({ corrected: 2, agreed: 2, refused: 0 });
    expect(counts?.rateLimited).toBeGreaterThanOrEqual(1);
    await eventually(() => got.length === 2, 20_000);
    expect(got.map((c) => c.requestId).sort()).toEqual([answers[0]!.requestId, answers[2]!.requestId].sort());
  });

  it('sends nothing for an answer whose TTL passed before the cloud came back', async () => {
    const cloud = await restartableCloud();
    const edge = await startEdge(cloud.url, await edgeDir(), 0, 1500);
    const { dev, got } = await openDevice(edge);
    await cloud.stop();
    expect(await dev.infer(image(DISAGREE), { deadlineMs: 5000 })).toMatchObject({ degraded: true });
    await eventually(() => edge.agent.lateCorrectionCounts()?.pending === 1, 10_000);
    // Past its TTL the answer is forgotten and its bytes reclaimed.
    await eventually(() => {
      const c = edge.agent.lateCorrectionCounts();
      return c?.pending === 0 && c.bytes === 0;
    }, 20_000);

    await cloud.start();
    // The cloud answers live requests again, and the drain has had several rounds.
    await eventually(
      async () => (await dev.infer(image(AGREE), { deadlineMs: 5000 })).tier === 'cloud',
      60_000,
    );
    await new Promise((r) => setTimeout(r, 3000));
    expect(got).toEqual([]);
    expect(edge.agent.lateCorrectionCounts()).toMatchObject({ corrected: 0, agreed: 0, corrections: 0 });
    expect(dev.stats().corrections).toEqual({ emitted: 0, repeats: 0, refused: 0 });
  });

  it('an edge starts past a link planted in late-corrections/: skipped with a warning naming it, never read or deleted', async () => {
    const cloud = await restartableCloud();
    const dataDir = await edgeDir();
    // A file elsewhere holding a degraded answer of a device the edge never saw: the link would feed it.
    const victim = join(await edgeDir(), 'victim');
    const line = { k: 'a', id: 'planted', device: 'dev-x', time: Date.now(), request: 'AA==', answer: {} };
    await writeFile(victim, `${JSON.stringify(line)}\n`, { mode: 0o600 });
    await mkdir(join(dataDir, 'late-corrections'), { mode: 0o700 });
    const link = join(dataDir, 'late-corrections', '000000000001.log');
    await symlink(victim, link);
    const warnings: string[] = [];
    const edge = await startTestAgent({
      devices: [device],
      dataDir,
      cloudUrl: cloud.url,
      deviceListPollMs: 0,
      ...ESCALATE_ALL,
      logger: { info: () => {}, warn: (message) => warnings.push(message) },
    });
    cleanups.push(() => edge.stop());
    expect(warnings).toContainEqual(expect.stringMatching(/000000000001\.log is a symbolic link.*skipped/));
    expect(edge.agent.lateCorrectionCounts()).toMatchObject({ pending: 0 });
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await readFile(victim, 'utf8')).toBe(`${JSON.stringify(line)}\n`);
    // And it serves: a device asks it and gets the cloud's answer.
    const { dev } = await openDevice(edge);
    expect(await dev.infer(image(AGREE), { deadlineMs: 5000 })).toMatchObject({ tier: 'cloud' });
  });
});

/**
 * The reported state of an edge with no cloud broker goes over HTTP (docs/edge-agent.md "Cloud link"):
 * the same JSON, posted with the edge token, taken by the cloud as if it came on `edge/{id}/reported`;
 * a cloud that does not know the route (404, from before F8) gets one warning and nothing more, and the
 * edge goes on serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import { expect, it } from 'vitest';
import { type CloudProxy, startCloudProxy } from './support/cloud-proxy.ts';

/** A cloud, a proxy in front of it, and an edge with no cloud broker behind the proxy. */
async function withHttpEdge(
  olderCloud: boolean,
  body: (s: { cloud: FabricCloud; proxy: CloudProxy; agent: EdgeAgent; warnings: string[] }) => Promise<void>,
): Promise<void> {
  const cloud = await startFabricCloud({ models: ['digits-tiny'], cloudModel: 'digits-tiny' });
  const proxy = await startCloudProxy(cloud.url);
  if (olderCloud) proxy.refuse('/reported');
  const dataDir = mkdtempSync(join(tmpdir(), 'fogline-deploy-http-'));
  const warnings: string[] = [];
  const edge = await cloud.admin.createEdge('http-edge');
  await cloud.admin.createDevice('dev-1', 'http-edge');
  const agent = createEdgeAgent({
    edgeId: 'http-edge',
    token: edge.token,
    cloudUrl: proxy.url,
    cloudModel: 'digits-tiny',
    model: 'digits-mid',
    deviceListPollMs: 0,
    localBroker: { kind: 'embedded', host: '127.0.0.1', mqttPort: 0 },
    dataDir,
    workers: 1,
    intraOpThreads: 1,
    logger: { info: () => {}, warn: (line) => warnings.push(line) },
  });
  try {
    await agent.start();
    await eventually(() => proxy.reported.length > 0, 15_000);
    expect(proxy.reported[0]).toMatchObject({ edgeId: 'http-edge', devices: 1, models: { 'digits-mid': 1 } });
    await body({ cloud, proxy, agent, warnings });
  } finally {
    await agent.stop();
    await proxy.close();
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

it('an edge without a cloud broker posts its reported state, and the cloud takes it', async () => {
  await withHttpEdge(false, async ({ cloud, agent, warnings }) => {
    await eventually(() => cloud.server.fabric.presence.view('http-edge').reported !== null, 15_000);
    expect(cloud.server.fabric.presence.view('http-edge').reported).toMatchObject({
      models: { 'digits-mid': 1 },
    });
    expect(warnings.filter((w) => w.includes('reported state'))).toEqual([]);
    expect(agent.servingModel).toBe('digits-mid:1');
  });
}, 60_000);

it('tolerates a cloud from before the route: one warning on 404, nothing more sent', async () => {
  await withHttpEdge(true, async ({ proxy, agent, warnings }) => {
    await eventually(() => warnings.some((w) => w.includes('404')), 5000);
    expect(proxy.reported).toHaveLength(1);
    expect(agent.servingModel).toBe('digits-mid:1');
  });
}, 60_000);

/**
 * The reported state of an edge with no cloud broker goes over HTTP (docs/edge-agent.md "Cloud link"):
 * the same JSON, posted with the edge token, taken by the cloud as if it came on `edge/{id}/reported`.
 * (A cloud that does not know the route, 404, gets one warning: reported-poster.test.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startFabricCloud } from '@fogline/cloud/testing';
import { createEdgeAgent } from '@fogline/edge-agent';
import { expect, it } from 'vitest';
import { startCloudProxy } from './support/cloud-proxy.ts';

it('an edge without a cloud broker posts its reported state, and the cloud takes it', async () => {
  const cloud = await startFabricCloud({ models: ['digits-tiny'], cloudModel: 'digits-tiny' });
  const proxy = await startCloudProxy(cloud.url);
  // This cloud has the report route (F8): the proxy answers it 404, as a cloud from before it does.
  proxy.refuse('/reported');
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
    expect(proxy.reported[0]).toMatchObject({
      edgeId: 'http-edge',
      devices: 1,
      models: { 'digits-mid': 1 },
    });
    await eventually(() => cloud.server.fabric.presence.view('http-edge').reported !== null, 15_000);
    expect(cloud.server.fabric.presence.view('http-edge').reported).toMatchObject({
      models: { 'digits-mid': 1 },
    });
    expect(warnings.filter((w) => w.includes('reported state'))).toEqual([]);
    expect(agent.servingModel).toBe('digits-mid:1');
  } finally {
    await agent.stop();
    await proxy.close();
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

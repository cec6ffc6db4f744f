/**
 * A deployment that fails while it is still on its way to an edge (docs/operations.md "Rollout"):
 * the cloud withdraws it from the edges that have not swapped it in, and they stop it as they stop a
 * superseded one; it never serves there. Real cloud (its deployment service), model store, broker,
 * edge and device (support/deployment-system.ts); the other canary edge is registered for real and
 * reports over the cloud's HTTP route with its own token.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '@fogline/cloud/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeploymentSystem, startDeploymentSystem } from './support/deployment-system.ts';

const IDLE_MS = 3000;
let sys: DeploymentSystem;

beforeAll(async () => {
  // A stalled download is retried soon: without the withdrawal the edge would finish it quickly.
  sys = await startDeploymentSystem({
    edge: { deploymentDownload: { idleTimeoutMs: IDLE_MS, attempts: 4, backoffMs: 100 } },
  });
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

describe('a deployment that fails before an edge swapped it in', () => {
  it('the other canary fails during the download: the edge stops it, serves on, and a restart resumes nothing', async () => {
    const other = await sys.cloud.admin.createEdge('other-edge');
    const v2 = await sys.push(2);
    sys.proxy.stallNextFileAfter(150_000);
    const created = await sys.cloud.admin.deploy({
      model: v2.model,
      version: v2.version,
      edges: [sys.edgeId, 'other-edge'],
      canary: 1,
    });
    const part = join(sys.dataDir, 'models', 'digits-mid', '2', 'model.onnx.partial');
    await eventually(() => existsSync(part) && statSync(part).size >= 150_000, 30_000);

    const failed = {
      id: created.id,
      model: v2.model,
      version: v2.version,
      state: 'failed',
      failure: { kind: 'load', message: 'does not load here' },
    };
    const res = await fetch(`${sys.cloud.url}/v2/fogline/edges/other-edge/reported`, {
      method: 'POST',
      headers: { authorization: `Bearer other-edge:${other.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ models: {}, deployment: failed }),
    });
    expect(res.status).toBe(204);
    await eventually(async () => (await sys.cloud.admin.deployment(created.id)).state === 'failed', 15_000);
    const view = await sys.cloud.admin.deployment(created.id);
    expect(view.edges?.find((e) => e.edge === sys.edgeId)?.sent).toBe(false);

    // The edge stops it and reports what serves (no deployment before this one): nothing.
    const presence = () => sys.cloud.server.fabric.presence.view(sys.edgeId).reported;
    await eventually(() => presence() !== undefined && presence()?.deployment === undefined, 15_000);
    // Past the stall's idle time and a retry: it was stopped, not retried to the end.
    const files = sys.proxy.fileRequests.length;
    await new Promise((r) => setTimeout(r, 2 * IDLE_MS));
    expect(sys.reports.filter((r) => r.id === created.id && r.state !== 'downloading')).toEqual([]);
    expect(sys.agent.servingModel).toBe('digits-mid:1');
    expect(sys.proxy.fileRequests.length).toBe(files);

    // Finished with: a restart (the retained desired state has no block) runs nothing.
    await sys.restartEdge();
    await new Promise((r) => setTimeout(r, 2 * IDLE_MS));
    expect(sys.agent.servingModel).toBe('digits-mid:1');
    expect(sys.proxy.fileRequests.length).toBe(files);
  }, 120_000);
});

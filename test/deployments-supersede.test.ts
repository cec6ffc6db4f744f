/**
 * A newer deployment arriving while one is still on its way to the edge (docs/edge-agent.md
 * "Deployments"): the one not yet swapped in stops, and never serves. Real cloud, model store,
 * broker, edge and device (support/deployment-system.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '@fogline/cloud/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeploymentSystem, startDeploymentSystem } from './support/deployment-system.ts';

let sys: DeploymentSystem;

beforeAll(async () => {
  sys = await startDeploymentSystem();
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

describe('a deployment superseded before its swap', () => {
  it('a rollback arriving during the download stops it: the rolled-back version never serves', async () => {
    const bad = await sys.push(2);
    const good = await sys.push(1);
    sys.proxy.stallNextFileAfter(150_000);
    await sys.deploy({ id: 'd-bad', ...bad });
    const part = join(sys.dataDir, 'models', 'digits-mid', '2', 'model.onnx.partial');
    await eventually(() => existsSync(part) && statSync(part).size >= 150_000, 30_000);
    // What the cloud's rollback sends: a new id naming the version served before.
    await sys.deploy({ id: 'd-bad-rb', ...good });
    expect(await sys.settled('d-bad-rb')).toMatchObject({
      state: 'active',
      version: 1,
      previous: { model: 'digits-mid', version: 1 },
    });
    expect(sys.agent.servingModel).toBe('digits-mid:1');
    expect(
      sys.reports.filter((r) => r.id === 'd-bad' && (r.state === 'active' || r.state === 'failed')),
    ).toEqual([]);
    // The stopped one is finished with: a restart (the retained desired state again) runs neither.
    const files = sys.proxy.fileRequests.length;
    await sys.restartEdge();
    expect(sys.agent.servingModel).toBe('digits-mid:1');
    expect(sys.proxy.fileRequests.length).toBe(files);
  }, 120_000);
});

/**
 * A deployment on an edge whose data dir cannot take the model (docs/edge-agent.md "Deployments"):
 * it fails as `download`, naming the directory, and the old model keeps serving. Real cloud, model
 * store, broker, edge and device (support/deployment-system.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeploymentSystem, startDeploymentSystem } from './support/deployment-system.ts';

let sys: DeploymentSystem;

beforeAll(async () => {
  sys = await startDeploymentSystem({
    // A file where the model's directory must go: mkdir fails as on a read-only or broken disk.
    seed: async (dataDir) => {
      mkdirSync(join(dataDir, 'models'), { recursive: true });
      writeFileSync(join(dataDir, 'models', 'digits-mid'), 'not a directory');
    },
  });
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

describe('a data dir that cannot take the model', () => {
  it('fails the deployment as `download`, naming the directory; the old model serves on', async () => {
    const v2 = await sys.push(2);
    await sys.deploy({ id: 'd-disk', ...v2 });
    const report = await sys.settled('d-disk');
    expect(report).toMatchObject({ state: 'failed', failure: { kind: 'download' } });
    expect(report.failure?.message).toContain(join(sys.dataDir, 'models', 'digits-mid', '2'));
    expect(sys.agent.servingModel).toBe('digits-mid:1');
  }, 120_000);
});

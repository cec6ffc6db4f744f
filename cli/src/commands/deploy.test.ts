/**
 * `fogline deploy`, `deploy status` and `deploy rollback` as a user runs them: the real bin in its own
 * process against a running cloud (PGlite, auth on); an edge reports its download over HTTP with its
 * own token, as an edge with no cloud broker does, and `deploy status` draws its progress.
 */
import { type FabricCloud, pushCommittedModel, startFabricCloud } from '@fogline/cloud/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFogline } from '../testing/run-fogline.ts';

let cloud: FabricCloud;
let target: string[] = [];
const tokens: Record<string, string> = {};

beforeAll(async () => {
  cloud = await startFabricCloud();
  target = ['--url', cloud.url, '--admin-token', cloud.ready.adminToken.token];
  await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 1);
  await pushCommittedModel(cloud.admin, 'digits-mid', 'digits-mid', 2);
  for (const id of ['cli-a', 'cli-b']) tokens[id] = (await cloud.admin.createEdge(id)).token;
}, 60_000);
afterAll(async () => {
  await cloud?.stop();
});

async function reportOverHttp(edge: string, deployment: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${cloud.url}/v2/fogline/edges/${edge}/reported`, {
    method: 'POST',
    headers: { authorization: `Bearer ${edge}:${tokens[edge]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ models: { 'digits-mid': 1 }, deployment }),
  });
  expect(res.status).toBe(204);
}

async function until(check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('fogline deploy', () => {
  it('refuses a target that is not model@version and a missing --edges, saying how', async () => {
    const bad = await runFogline('deploy', 'digits-mid', '--edges', 'all', ...target);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('<model>@<version>');
    const noEdges = await runFogline('deploy', 'digits-mid@2', ...target);
    expect(noEdges.code).not.toBe(0);
    expect(noEdges.stderr).toContain('--edges');
  }, 60_000);

  it('deploys, shows per-edge progress while an edge downloads, and rolls back by hand', async () => {
    const started = await runFogline(
      'deploy',
      'digits-mid@2',
      '--edges',
      'cli-a,cli-b',
      '--canary',
      '50%',
      ...target,
    );
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const id = /deployment (d-\S+):/.exec(started.stdout)?.[1];
    expect(id).toBeDefined();
    const d = await cloud.admin.deployment(id!);
    expect(d).toMatchObject({ canary: 0.5, state: 'canary' });
    const half = Math.floor(d.bytes / 2);
    const base = { id, model: 'digits-mid', version: 2 };
    await reportOverHttp('cli-a', {
      ...base,
      state: 'downloading',
      receivedBytes: half,
      totalBytes: d.bytes,
    });
    await until(async () => (await cloud.admin.deployment(id!)).edges![0]!.receivedBytes === half);

    const status = await runFogline('deploy', 'status', 'digits-mid', ...target);
    expect(status.code).toBe(0);
    const line = status.stdout.split('\n').find((l) => l.startsWith('cli-a'));
    expect(line).toMatch(/cli-a\s+canary\s+digits-mid@2\s+downloading\s+\[#{10}-{10}\]\s+50 %/);
    expect(status.stdout).toMatch(/cli-b\s+rest\s+\(waiting\)\s+pending/);

    await reportOverHttp('cli-a', {
      ...base,
      state: 'active',
      previous: { model: 'digits-mid', version: 1 },
    });
    await until(async () => (await cloud.admin.deployment(id!)).edges![0]!.state === 'active');
    const rolled = await runFogline('deploy', 'rollback', 'digits-mid', '--json', ...target);
    expect(rolled.code).toBe(0);
    const answer = JSON.parse(rolled.stdout) as {
      rolledBack: { id: string; state: string };
      rollbacks: { version: number; edgesSelector: string[] }[];
    };
    expect(answer.rolledBack).toMatchObject({ id, state: 'rolled_back' });
    expect(answer.rollbacks).toEqual([expect.objectContaining({ version: 1, edgesSelector: ['cli-a'] })]);
  }, 120_000);
});

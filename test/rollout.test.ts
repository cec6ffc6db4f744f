/**
 * Rollout end to end as a user runs it (docs/operations.md "Rollout"): a real cloud, two real edge
 * agents on its broker and HTTP, an SDK device on each sending steady traffic, and the real CLI in
 * fresh processes: `fogline models push` a new digits-mid version, `fogline deploy … --canary 50%`
 * (the canary edge first, the other once it stayed healthy), `fogline deploy status --json`; a
 * model with permuted labels deployed with `--gate` rolled back by the gate through the cloud's real
 * audit path; a truncated upload refused; `fogline deploy rollback` by hand. After the rollout and
 * after the rollback by hand the edges' desired models follow the deployments: no edge is left
 * reporting `pendingModels`.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeploymentView } from '@fogline/cloud';
import { eventually, tempDir } from '@fogline/cloud/testing';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePermutedDigitsMid } from './support/permuted-model.ts';
import { type RolloutSystem, startRolloutSystem } from './support/rollout-system.ts';

const MID = join(DEFAULT_MODELS_DIR, 'digits-mid');
let sys: RolloutSystem;
let work: string;

beforeAll(async () => {
  work = tempDir('rollout');
  copyFileSync(join(MID, 'config.json'), join(work, 'config.json'));
  sys = await startRolloutSystem();
}, 180_000);

afterAll(async () => {
  await sys?.stop();
});

/** `fogline models push <file> --name digits-mid --version v --config …`, exit 0 expected. */
async function push(file: string, version: number) {
  const out = await sys.fogline(
    'models',
    'push',
    file,
    '--name',
    'digits-mid',
    '--version',
    String(version),
    '--config',
    join(work, 'config.json'),
  );
  expect(out.stderr, `push ${version}`).toBe('');
  expect(out.code).toBe(0);
  expect(out.stdout).toMatch(new RegExp(`^stored digits-mid@${version} \\(edge, `));
}

async function deploy(...args: string[]): Promise<DeploymentView> {
  const out = await sys.fogline('deploy', ...args, '--json');
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  return JSON.parse(out.stdout) as DeploymentView;
}

/** Polls the deployment until it is in one of `states`. */
async function until(id: string, states: string[], timeoutMs = 120_000): Promise<DeploymentView> {
  let view: DeploymentView | undefined;
  await eventually(async () => {
    view = await sys.cloud.admin.deployment(id);
    return states.includes(view.state);
  }, timeoutMs);
  return view!;
}

const serving = (version: number) => () =>
  sys.edges.every((e) => e.agent.servingModel === `digits-mid:${version}`);

describe('rollout to two edges from the CLI', { timeout: 300_000 }, () => {
  it('pushes v2 and deploys it with a 50% canary under steady traffic: canary first, both active, no failed request', async () => {
    await push(join(MID, '1', 'model.onnx'), 2);
    const load = sys.traffic();
    const started = await deploy(
      'digits-mid@2',
      '--edges',
      'all',
      '--canary',
      '50%',
      '--canary-healthy-ms',
      '2000',
    );
    const canary = started.edges!.filter((e) => e.stage === 'canary').map((e) => e.edge);
    expect(canary).toHaveLength(1);
    const rest = sys.edges.map((e) => e.id).find((id) => id !== canary[0])!;

    // Until the canary edge is active and stayed so, the other edge is not sent the deployment.
    const early: string[] = [];
    let view = started;
    await eventually(async () => {
      view = await sys.cloud.admin.deployment(started.id);
      const c = view.edges!.find((e) => e.edge === canary[0])!;
      const r = view.edges!.find((e) => e.edge === rest)!;
      if (r.sent && c.state !== 'active') early.push(`${rest} sent while the canary was ${c.state}`);
      return view.state === 'done' || view.state === 'failed';
    }, 180_000);
    expect(early).toEqual([]);
    expect(view).toMatchObject({ state: 'done', reason: null });
    const restEdge = sys.edges.find((e) => e.id === rest)!;
    await eventually(serving(2), 30_000);
    // A few answers from v2 on both edges, then the traffic stops.
    const answered = (await sys.cloud.admin.deployment(started.id)).edges!;
    expect(Date.parse(answered.find((e) => e.edge === canary[0])!.activeSince!)).toBeLessThan(
      Date.parse(answered.find((e) => e.edge === rest)!.activeSince!),
    );
    for (const e of sys.edges)
      expect((await e.device.infer(new Float32Array(784))).modelVersions).toBe('digits-mid:2');
    const { failures, served, answered: count } = await load.stop();
    expect(failures).toEqual([]);
    expect(count).toBeGreaterThan(0);
    for (const id of [canary[0]!, rest]) {
      expect(served).toContain(`${id} digits-mid:1`);
      expect(served).toContain(`${id} digits-mid:2`);
    }
    expect(restEdge.agent.servingModel).toBe('digits-mid:2');

    // What the user reads: every edge active on v2, previous v1.
    const status = await sys.fogline('deploy', 'status', 'digits-mid', '--json');
    expect(status.code).toBe(0);
    const shown = JSON.parse(status.stdout) as DeploymentView;
    expect(shown).toMatchObject({ id: started.id, state: 'done', version: 2 });
    expect(shown.edges!.map((e) => [e.edge, e.state, e.previous?.version]).sort()).toEqual([
      ['edge-a', 'active', 1],
      ['edge-b', 'active', 1],
    ]);
    // Their desired models follow the deployment: neither edge reports a pending model.
    await eventually(() => Object.values(sys.pending()).every((p) => Object.keys(p).length === 0), 30_000);
  });

  it('a model with permuted labels deployed with --gate is rolled back by the gate: the edge serves v2 again', async () => {
    await push(writePermutedDigitsMid(join(work, 'permuted.onnx')), 3);
    const load = sys.traffic();
    const started = await deploy(
      'digits-mid@3',
      '--edges',
      'all',
      '--canary',
      '50%',
      '--canary-healthy-ms',
      '600000',
      '--gate-min-paired',
      '20',
      '--gate-max-drop',
      '5%',
      '--gate-shadow-ms',
      '120000',
    );
    const canary = started.edges!.find((e) => e.stage === 'canary')!.edge;
    const failed = await until(started.id, ['failed', 'done', 'rolled_back'], 180_000);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toMatch(new RegExp(`accuracy gate on edge '${canary}'`));
    expect(failed.reason).toMatch(/rollback to digits-mid@2/);
    const judged = failed.edges!.find((e) => e.edge === canary)!;
    expect(judged.gate?.verdict).toBe('fail');
    expect(judged.gate!.paired).toBeGreaterThanOrEqual(20);
    // The other edge was never sent it; the canary edge goes back to v2.
    expect(failed.edges!.find((e) => e.edge !== canary)!.sent).toBe(false);
    await eventually(serving(2), 60_000);
    const { failures } = await load.stop();
    expect(failures).toEqual([]);
    for (const e of sys.edges)
      expect((await e.device.infer(new Float32Array(784))).modelVersions).toBe('digits-mid:2');
    const status = await sys.fogline('deploy', 'status', '--id', started.id, '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'failed', reason: failed.reason });
  });

  it('a corrupted upload is refused by models push with the reason, and nothing is stored', async () => {
    const truncated = join(work, 'truncated.onnx');
    writeFileSync(truncated, readFileSync(join(MID, '1', 'model.onnx')).subarray(0, 4000));
    const out = await sys.fogline(
      'models',
      'push',
      truncated,
      '--name',
      'digits-mid',
      '--version',
      '4',
      '--config',
      join(work, 'config.json'),
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/digits-mid@4 model.onnx: onnxruntime cannot load it/);
    const versions = await sys.cloud.admin.modelVersions('digits-mid');
    expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3]);
  });

  it('deploy rollback by hand returns both edges to the previous version', async () => {
    await push(join(MID, '1', 'model.onnx'), 4);
    const started = await deploy(
      'digits-mid@4',
      '--edges',
      'all',
      '--canary',
      '50%',
      '--canary-healthy-ms',
      '500',
    );
    await until(started.id, ['done'], 180_000);
    await eventually(serving(4), 30_000);
    const out = await sys.fogline('deploy', 'rollback', 'digits-mid');
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`^${started.id}: rolled back \\(rolled back by hand`));
    await eventually(serving(2), 60_000);
    expect((await sys.cloud.admin.deployment(started.id)).state).toBe('rolled_back');
    await eventually(() => Object.values(sys.pending()).every((p) => Object.keys(p).length === 0), 30_000);
    for (const e of sys.edges)
      expect((await e.device.infer(new Float32Array(784))).modelVersions).toBe('digits-mid:2');
  });
});

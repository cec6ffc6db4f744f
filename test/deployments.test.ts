/**
 * Deployments at the edge, end to end on real sockets (docs/edge-agent.md "Deployments"): the real
 * cloud's model store serves the versions (pushed through its admin API), the desired state with a
 * `deployment` block is published on the cloud's real broker as the cloud does, and an SDK device
 * sends traffic through a real edge agent the whole time. A block naming `.` or `..` as a model
 * is refused by the edge before anything becomes a path.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '@fogline/cloud/testing';
import type { InferResult } from '@fogline/device-sdk';
import { testDigits } from '@fogline/edge-agent/testing';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeploymentSystem, MID_CONFIG, startDeploymentSystem } from './support/deployment-system.ts';

const { images } = testDigits(64);
let sys: DeploymentSystem;

beforeAll(async () => {
  sys = await startDeploymentSystem();
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

/** `loops` concurrent request loops until `done()`; every outcome kept, failures as their message. */
async function traffic(loops: number, done: () => boolean) {
  const results: InferResult[] = [];
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: loops }, async (_, k) => {
      for (let i = k; !done(); i += loops) {
        try {
          results.push(await sys.device.infer(images[i % images.length]!, { deadlineMs: 10_000 }));
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }),
  );
  return { results, failures };
}

const answerOnce = () => sys.device.infer(images[0]!, { deadlineMs: 10_000 });

type AuditItem = { edge: { model: string } | null; shadow?: { model: string; outputs: number[] } };
const auditItems = (from = 0): AuditItem[] =>
  (sys.proxy.audits.slice(from) as { audits: AuditItem[] }[]).flatMap((u) => u.audits);

describe('deployments at the edge', () => {
  it('a good version swaps in under steady traffic: no request fails, and the edge reports it active', async () => {
    const v2 = await sys.push(2);
    let stop = false;
    const load = traffic(4, () => stop);
    await sys.deploy({ id: 'd-good', ...v2 });
    const report = await sys.settled('d-good');
    expect(report).toMatchObject({
      state: 'active',
      model: 'digits-mid',
      version: 2,
      previous: { model: 'digits-mid', version: 1 },
    });
    // Traffic goes on until the new version has answered some of it.
    let seen = 0;
    await eventually(() => {
      seen = sys.agent.servingModel === 'digits-mid:2' ? seen + 1 : 0;
      return seen > 40;
    }, 30_000);
    stop = true;
    const { results, failures } = await load;
    expect(failures).toEqual([]);
    const served = new Set(results.map((r) => r.modelVersions));
    expect(served).toContain('digits-mid:1');
    expect(served).toContain('digits-mid:2');
    expect(results.every((r) => r.tier === 'edge' && !r.degraded)).toBe(true);
    // Progress went out while it downloaded, then verifying and warming.
    const states = sys.reports.filter((r) => r.id === 'd-good').map((r) => r.state);
    expect(states).toEqual(expect.arrayContaining(['downloading', 'verifying', 'warming', 'active']));
    const progress = sys.reports.find((r) => r.id === 'd-good' && (r.receivedBytes ?? 0) > 0);
    expect(progress).toMatchObject({ totalBytes: v2.bytes });
    // The file lives in the data dir, private.
    const dir = join(sys.dataDir, 'models', 'digits-mid', '2');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'model.onnx')).mode & 0o777).toBe(0o600);
  }, 120_000);

  it('a truncated file, a longer one, a wrong sha256 and a model of another input shape each fail, the old model serving', async () => {
    const v3 = await sys.push(3);
    // Another model, whose input is not the digits': the cloud stores it, the edge must refuse it.
    const shapesConfig = {
      ...MID_CONFIG,
      name: 'shapes-edge',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 3, 32, 32] }],
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 4] }],
      labels: undefined,
      drift: undefined,
    };
    const other = await sys.push(1, join(DEFAULT_MODELS_DIR, 'shapes', 'shapes-mid.onnx'), shapesConfig);
    const cases = [
      { id: 'd-short', block: { ...v3, bytes: v3.bytes + 1000 }, kind: 'size' },
      { id: 'd-long', block: { ...v3, bytes: v3.bytes - 1000 }, kind: 'size' },
      { id: 'd-sum', block: { ...v3, sha256: 'f'.repeat(64) }, kind: 'checksum' },
      { id: 'd-shape', block: other, kind: 'load' },
    ];
    for (const { id, block, kind } of cases) {
      await sys.deploy({ id, ...block });
      const report = await sys.settled(id);
      expect(report, id).toMatchObject({ state: 'failed', failure: { kind }, previous: { version: 2 } });
      expect(report.failure!.message.length).toBeGreaterThan(0);
      expect(sys.agent.servingModel).toBe('digits-mid:2');
      const answer = await answerOnce();
      expect(answer.modelVersions).toBe('digits-mid:2');
    }
    expect((await sys.settled('d-shape')).failure?.message).toMatch(/input's sample shape/);
  }, 120_000);

  it('a dropped download resumes with Range where it stopped', async () => {
    const v5 = await sys.push(5);
    sys.proxy.cutNextFileAfter(100_000);
    await sys.deploy({ id: 'd-resume', ...v5 });
    expect(await sys.settled('d-resume')).toMatchObject({ state: 'active', version: 5 });
    const requests = sys.proxy.fileRequests.filter((r) => r.path.includes('/versions/5/'));
    expect(requests.length).toBe(2);
    expect(requests[0]!.range).toBeUndefined();
    const start = Number(/^bytes=(\d+)-$/.exec(requests[1]!.range ?? '')?.[1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(100_000);
  }, 120_000);

  it("during a gate the previous version's answers ride in the audit uploads; a rollback swaps it back without loading", async () => {
    const v6 = await sys.push(6);
    await sys.deploy({ id: 'd-gate', ...v6, gate: { shadowMs: 300_000, minPaired: 5, maxDrop: 0.1 } });
    expect(await sys.settled('d-gate')).toMatchObject({ state: 'active', previous: { version: 5 } });
    const from = sys.proxy.audits.length;
    for (const image of images.slice(0, 20)) await sys.device.infer(image, { deadlineMs: 10_000 });
    await eventually(() => auditItems(from).filter((a) => a.shadow).length >= 5, 30_000);
    for (const item of auditItems(from).filter((a) => a.shadow)) {
      expect(item.edge?.model).toBe('digits-mid:6');
      expect(item.shadow!.model).toBe('digits-mid:5');
      expect(item.shadow!.outputs).toHaveLength(10);
    }
    // The cloud rolls back: a new deployment naming the previous version, still loaded.
    const v5 = sys.reports.find((r) => r.id === 'd-resume')!;
    const stored = (await sys.cloud.admin.modelVersions('digits-mid')).find((v) => v.version === 5)!;
    await sys.deploy({
      id: 'd-back',
      model: v5.model,
      version: 5,
      sha256: stored.sha256,
      bytes: stored.bytes,
    });
    expect(await sys.settled('d-back')).toMatchObject({ state: 'active', previous: { version: 6 } });
    expect(sys.reports.filter((r) => r.id === 'd-back').map((r) => r.state)).toEqual(['active']);
    expect(sys.agent.servingModel).toBe('digits-mid:5');
    // No shadow after it. Audits of requests answered by v6 before the rollback may still be on their
    // way (the edge uploads in batches): only those answered by v5, or by no edge model, count here.
    const after = sys.proxy.audits.length;
    const since = () => auditItems(after).filter((a) => a.edge === null || a.edge.model === 'digits-mid:5');
    for (const image of images.slice(0, 10)) await sys.device.infer(image, { deadlineMs: 10_000 });
    await eventually(() => since().length >= 10, 30_000);
    expect(since().filter((a) => a.shadow)).toEqual([]);
  }, 120_000);

  it('the shadow stops when the gate ends; a restart serves the deployed version, and retries no id', async () => {
    const stored = (await sys.cloud.admin.modelVersions('digits-mid')).find((v) => v.version === 6)!;
    const files = sys.proxy.fileRequests.length;
    await sys.deploy({
      id: 'd-short-gate',
      model: 'digits-mid',
      version: 6,
      sha256: stored.sha256,
      bytes: stored.bytes,
      gate: { shadowMs: 2000, minPaired: 5, maxDrop: 0.1 },
    });
    expect(await sys.settled('d-short-gate')).toMatchObject({ state: 'active', previous: { version: 5 } });
    // Version 6 was on disk with its sha256: not downloaded again.
    expect(sys.proxy.fileRequests.length).toBe(files);
    const activeAt = Date.now();
    await eventually(() => Date.now() - activeAt > 3000, 10_000);
    const from = sys.proxy.audits.length;
    for (const image of images.slice(0, 10)) await sys.device.infer(image, { deadlineMs: 10_000 });
    await eventually(() => auditItems(from).length >= 10, 30_000);
    expect(auditItems(from).filter((a) => a.shadow)).toEqual([]);

    const reportsBefore = sys.reports.length;
    await sys.restartEdge();
    expect(sys.agent.servingModel).toBe('digits-mid:6');
    expect((await answerOnce()).modelVersions).toBe('digits-mid:6');
    // The retained desired state came again: its id is done, nothing restarts.
    const again = sys.reports.slice(reportsBefore).filter((r) => r.state !== 'active');
    expect(again).toEqual([]);
    expect(sys.agent.deployment()).toMatchObject({ id: 'd-short-gate', state: 'active' });
    expect(sys.warnings.join('\n')).not.toMatch(/cannot be served/);
  }, 120_000);

  it('a stop during a download is no failure: the next start resumes it where it stopped', async () => {
    const v7 = await sys.push(7);
    sys.proxy.stallNextFileAfter(150_000);
    await sys.deploy({ id: 'd-stop', ...v7 });
    const part = join(sys.dataDir, 'models', 'digits-mid', '7', 'model.onnx.partial');
    await eventually(() => existsSync(part) && statSync(part).size >= 150_000, 30_000);
    await sys.restartEdge();
    expect(await sys.settled('d-stop')).toMatchObject({ state: 'active', version: 7 });
    expect(sys.reports.filter((r) => r.id === 'd-stop' && r.state === 'failed')).toEqual([]);
    const requests = sys.proxy.fileRequests.filter((r) => r.path.includes('/versions/7/'));
    expect(requests.map((r) => r.range)).toEqual([undefined, 'bytes=150000-']);
    expect(sys.agent.servingModel).toBe('digits-mid:7');
  }, 120_000);

  it('a deployment naming "." or ".." as a model is refused as a whole: nothing fetched, nothing written outside models/', async () => {
    const file = { version: 8, sha256: 'a'.repeat(64), bytes: 1000 };
    const device = { model: 'digits-tiny', ...file };
    const blocks = [
      { id: 'd-dotdot', model: '..', ...file },
      { id: 'd-dot', model: '.', ...file },
      { id: 'd-device-dotdot', model: 'digits-mid', ...file, device: { ...device, model: '..' } },
    ];
    const files = sys.proxy.fileRequests.length;
    for (const block of blocks) {
      const warned = sys.warnings.length;
      const refusal = () => sys.warnings.slice(warned).find((w) => w.startsWith('refused the deployment'));
      await sys.deploy(block);
      await eventually(() => refusal() !== undefined, 10_000);
      expect(refusal(), block.id).toMatch(
        /^refused the deployment block of the desired state: deployment(\.device)?\.model must be a model name \(/,
      );
    }
    // The edge serves what it did; no download began, nothing was reported, and `<dataDir>/models/../8`
    // (the data dir itself) holds nothing new.
    expect(sys.agent.servingModel).toBe('digits-mid:7');
    expect(sys.proxy.fileRequests.length).toBe(files);
    expect(sys.reports.filter((r) => r.id.includes('dot'))).toEqual([]);
    expect(existsSync(join(sys.dataDir, '8'))).toBe(false);
    expect(existsSync(join(sys.dataDir, 'models', '8'))).toBe(false);
  }, 60_000);
});

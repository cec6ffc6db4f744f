/**
 * Hard examples end to end over real sockets (docs/field-accuracy.md "Hard examples"): an SDK device
 * (digits-tiny, audits at 30 %) labels every request with `device.feedback` → edge agent (embedded
 * broker, digits-mid-int8) → real CloudServer (PGlite, digits-large), which stores audit and feedback
 * records. `fogline examples export` (a process) writes the hard ones as an inputs.npy + labels.npy
 * dataset: exactly the records whose tiers disagreed, whose answer was wrong or scored low, labelled
 * by the feedback label, each input the device's own image; the toolchain's dataset reader and
 * `fogline models eval --data` read it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud } from '@fogline/cloud/testing';
import type { Device } from '@fogline/device-sdk';
import { testDigits } from '@fogline/edge-agent/testing';
import { parseModelConfig } from '@fogline/shared';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { loadDataset, targetOf } from '@fogline/toolchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFogline as fogline } from '../cli/src/testing/run-fogline.ts';
import { type AuditSystem, type RecordView, startAuditSystem } from './support/audit-system.ts';

const EDGE = 'hard-edge';
const LOW_SCORE = 0.9;
const { images, labels } = testDigits(40);
const outDir = mkdtempSync(join(tmpdir(), 'fogline-hard-out-'));
let system: AuditSystem;
let cloud: FabricCloud;
let device: Device;

beforeAll(async () => {
  system = await startAuditSystem({ edgeId: EDGE, auditSeed: 5, auditRate: 0.3 });
  ({ cloud, device } = system);
}, 120_000);

afterAll(async () => {
  await system?.stop();
  rmSync(outDir, { recursive: true, force: true });
});

/** The test's own reading of "hard", from the admin API's records. */
function isHard(r: RecordView): boolean {
  const answer = r.answer_tier === 'edge' ? (r.edge_answer ?? r.cloud_answer) : r[`${r.answer_tier}_answer`];
  const tierLabels = [r.device_answer.label, r.edge_answer?.label, r.cloud_answer.label].filter(
    (l) => l !== undefined,
  );
  return (
    new Set(tierLabels).size > 1 ||
    (r.feedback_label !== null && answer.label !== r.feedback_label) ||
    answer.score < LOW_SCORE
  );
}

describe('fogline examples export', () => {
  it('writes the hard records of both sources as a dataset the toolchain and `models eval` read', async () => {
    const imageOf = new Map<string, number>();
    for (const [i, image] of images.entries()) {
      const result = await device.infer(image, { deadlineMs: 3000 });
      imageOf.set(result.requestId, i);
      expect(device.feedback(result.requestId, labels[i]!)).toBe(true);
    }
    // Each answer's audit goes out on a 0 ms timer (audit-sampler.ts); a timer set now runs after all
    // of them, so the count read next includes every audit sampled.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const { audits } = device.stats();
    await eventually(() => {
      const c = cloud.server.auditCounts!;
      return c.stored + c.feedbackJoined + c.failed === audits.sent + images.length;
    }, 60_000);
    const res = await fetch(`${cloud.url}/api/audits?edge=${EDGE}`, {
      headers: { authorization: `Bearer ${cloud.ready.adminToken.token}` },
    });
    const stored = ((await res.json()) as { records: RecordView[] }).records;
    expect(stored).toHaveLength(images.length);
    const hard = stored.filter(isHard);
    expect(new Set(hard.map((r) => r.source))).toEqual(new Set(['audit', 'feedback']));
    expect(hard.length).toBeLessThan(stored.length);

    const run = await fogline(
      'examples',
      'export',
      '--since',
      '1h',
      '--edge',
      EDGE,
      '--low-score',
      String(LOW_SCORE),
      '--out',
      outDir,
      '--data-dir',
      cloud.dataDir,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`^wrote ${hard.length} hard examples .* from ${images.length} records`),
    );

    const manifest = JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ count: hard.length, scanned: images.length, complete: true });
    expect(manifest.note).toMatch(/training only; never for the controller or rollout gates/);
    expect(manifest.skipped).toEqual({ no_input: 0, other_shape: 0 });
    expect(manifest.by_source).toEqual({
      audit: hard.filter((r) => r.source === 'audit').length,
      feedback: hard.filter((r) => r.source === 'feedback').length,
    });
    expect(manifest.examples.map((e: RecordView) => e.request_id)).toEqual(hard.map((r) => r.request_id));
    for (const e of manifest.examples) expect(e.label_from).toBe('feedback');

    const configFile = join(DEFAULT_MODELS_DIR, 'digits-large', 'config.json');
    const config = parseModelConfig(JSON.parse(readFileSync(configFile, 'utf8')), configFile, 'digits-large');
    const set = await loadDataset(outDir, targetOf(config, configFile));
    expect(set.count).toBe(hard.length);
    expect(Array.from(set.labels ?? [])).toEqual(hard.map((r) => labels[imageOf.get(r.request_id)!]));
    for (const [i, r] of hard.entries()) {
      const image = images[imageOf.get(r.request_id)!]!;
      expect(Array.from(set.data.subarray(i * 784, (i + 1) * 784))).toEqual(Array.from(image));
    }

    const evaluated = await fogline('models', 'eval', 'digits-large', '--data', outDir, '--json');
    expect(evaluated.code).toBe(0);
    expect(JSON.parse(evaluated.stdout)).toMatchObject({ count: hard.length, skipped: [] });
  }, 180_000);
});

/**
 * The cloud's reference pass over an upload (audit-intake.ts), on a real PGlite store and the
 * committed digits-large in onnxruntime: every audit of an upload is stored with the answer the
 * model gives its input alone, in one pass of the model and one insert; an audit whose input does
 * not fit fails alone; the stored records are announced per edge (the controller's cue).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { argmax } from '@fogline/shared';
import { DEFAULT_MODELS_DIR, loadModelEntry } from '@fogline/shared/model-repository';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelInstance } from '../serving/model-instance.ts';
import { type AuditRecordRepository, openStore, type Store } from '../store/index.ts';
import { auditUploadOf, digits } from '../testing/cloud-fixture.ts';
import { AuditIntake, DEFAULT_AUDIT_SETTINGS } from './audit-intake.ts';

const AUDITS = 32;
const { images } = digits(AUDITS);
const image = (i: number) => images.slice(i * 784, (i + 1) * 784);
const dir = mkdtempSync(join(tmpdir(), 'fogline-audit-intake-'));
let store: Store;
let model: ModelInstance;

beforeAll(async () => {
  store = await openStore({ dataDir: dir });
  const entry = await loadModelEntry(DEFAULT_MODELS_DIR, 'digits-large');
  model = await ModelInstance.load(entry, 1, { workers: 1, intraOpThreads: 1 });
}, 60_000);
afterAll(async () => {
  await model?.retire();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The model's label for image i, asked alone. */
async function aloneLabel(i: number): Promise<number> {
  const out = await model.infer({ batch: 1, inputs: [new Uint8Array(image(i).buffer.slice(0))] });
  return argmax(Array.from(out.logits!.data as Float32Array));
}

const upload = (badShapeAt: number) =>
  auditUploadOf(AUDITS, image, (k) => (k === badShapeAt ? [1, 1, 14, 56] : [1, 1, 28, 28]));

describe('the reference pass over an upload', () => {
  it('stores every audit with the answer the model gives it alone, in one pass and one insert', async () => {
    const inserts: number[] = [];
    const records: AuditRecordRepository = Object.create(store.auditRecords, {
      insert: {
        value: (rows: Parameters<AuditRecordRepository['insert']>[0]) => {
          inserts.push(rows.length);
          return store.auditRecords.insert(rows);
        },
      },
    });
    const stored: [string, number][] = [];
    const failures: string[] = [];
    const intake = new AuditIntake({
      records,
      resolveModel: () => model,
      settings: DEFAULT_AUDIT_SETTINGS,
      log: (err) => failures.push(err.message),
      onStored: (edgeId, count) => stored.push([edgeId, count]),
    });
    try {
      expect(intake.accept('edge-a', upload(5))).toEqual({ accepted: AUDITS, dropped: 0 });
      await expect.poll(() => intake.counts().queued + intake.counts().stored, { timeout: 20_000 }).toBe(31);
      await expect.poll(() => stored.length, { timeout: 20_000 }).toBe(1);
      expect(intake.counts()).toMatchObject({ stored: 31, failed: 1, queued: 0 });
      expect(failures).toEqual([expect.stringMatching(/shape \[1,1,14,56\]/)]);
      expect(inserts).toEqual([31]);
      expect(stored).toEqual([['edge-a', 31]]);
      const rows = await store.auditRecords.list({ edgeId: 'edge-a' });
      expect(rows.map((r) => r.requestId).sort()).toEqual(
        Array.from({ length: AUDITS }, (_, k) => `req-${k}`)
          .filter((id) => id !== 'req-5')
          .sort(),
      );
      for (const r of rows) {
        const k = Number(r.requestId.slice(4));
        expect(r.cloud.label, r.requestId).toBe(await aloneLabel(k));
        expect(r.cloud.model).toBe('digits-large:1');
      }
    } finally {
      await intake.close();
    }
  }, 60_000);
});

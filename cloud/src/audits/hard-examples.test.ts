/**
 * Which stored records are hard examples (hard-examples.ts), on a real PGlite store: tiers that
 * disagree, a wrong answer against the feedback label, a low score; the feedback label outranks the
 * reference; records without input (an opted-out edge) are skipped and counted; paging by `next`
 * visits every record once; a stored input reads back as its real values (dequantized).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/index.ts';
import type { NewAuditRecord } from '../store/store.ts';
import { hardExamplePage, realInput } from './hard-examples.ts';

const dir = mkdtempSync(join(tmpdir(), 'fogline-hard-store-'));
let store: Store;
beforeAll(async () => {
  store = await openStore({ dataDir: dir });
}, 60_000);
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const f32 = (values: number[]) => Buffer.from(new Float32Array(values).buffer).toString('base64');
let n = 0;
const record = (edgeId: string, over: Partial<NewAuditRecord> = {}): NewAuditRecord => ({
  source: 'audit',
  edgeId,
  deviceId: 'dev-1',
  requestId: `req-${++n}`,
  answeredAt: new Date(),
  rate: 0.2,
  answerTier: 'device',
  device: { model: 'tiny:1', outputs: [3, 0, 0], score: 0.9, label: 0 },
  edge: { model: 'mid:1', outputs: [3, 0, 0], score: 0.95, label: 0 },
  cloud: { model: 'large:1', outputs: [3, 0, 0], score: 0.99, label: 0 },
  input: { name: 'x', datatype: 'FP32', shape: [1, 3], data: f32([n, 0.5, -1]) },
  inputExpiresAt: new Date(Date.now() + 86_400_000),
  ...over,
});

describe('hard examples', () => {
  it('picks disagreements, wrong answers and low scores, labels them, and skips records without input', async () => {
    const edge = 'edge-a';
    const easy = record(edge);
    const disagree = record(edge, { edge: { model: 'mid:1', outputs: [0, 3, 0], score: 0.9, label: 1 } });
    const low = record(edge, { device: { model: 'tiny:1', outputs: [1, 0.9, 0], score: 0.1, label: 0 } });
    const wrong = record(edge, { source: 'feedback', rate: 1, feedbackLabel: 2 });
    const rightByFeedback = record(edge, { source: 'feedback', rate: 1, feedbackLabel: 0 });
    const optedOut = record(edge, {
      ...disagree,
      requestId: 'req-opted-out',
      input: null,
      inputExpiresAt: null,
    });
    await store.auditRecords.insert([easy, disagree, low, wrong, rightByFeedback, optedOut]);

    const page = await hardExamplePage(store.auditRecords, { edgeId: edge, scan: 100, lowScore: 0.5 });
    expect(page).toMatchObject({ scanned: 6, skippedNoInput: 1, next: null });
    const picked = page.examples.map((e) => ({
      request: e.record.requestId,
      source: e.record.source,
      label: e.label,
      labelFrom: e.labelFrom,
      reasons: e.reasons,
    }));
    expect(picked).toEqual([
      {
        request: disagree.requestId,
        source: 'audit',
        label: 0,
        labelFrom: 'reference',
        reasons: ['tiers-disagree'],
      },
      { request: low.requestId, source: 'audit', label: 0, labelFrom: 'reference', reasons: ['low-score'] },
      {
        request: wrong.requestId,
        source: 'feedback',
        label: 2,
        labelFrom: 'feedback',
        reasons: ['wrong-answer'],
      },
    ]);
  });

  it('pages through every record once, following next', async () => {
    const edge = 'edge-b';
    const disagree = { model: 'mid:1', outputs: [0, 3, 0], score: 0.9, label: 1 };
    await store.auditRecords.insert(Array.from({ length: 7 }, () => record(edge, { edge: disagree })));
    const seen: string[] = [];
    let after: number | undefined;
    let pages = 0;
    do {
      const page = await hardExamplePage(store.auditRecords, {
        edgeId: edge,
        scan: 3,
        lowScore: 0.5,
        ...(after !== undefined && { afterId: after }),
      });
      seen.push(...page.examples.map((e) => e.record.requestId));
      after = page.next ?? undefined;
      pages++;
    } while (after !== undefined);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    await expect(hardExamplePage(store.auditRecords, { scan: 0, lowScore: 0.5 })).rejects.toThrow(
      /scan must be/,
    );
    await expect(hardExamplePage(store.auditRecords, { scan: 5, lowScore: 2 })).rejects.toThrow(/low_score/);
  });

  it('reads a stored input back as its sample shape and real values', () => {
    expect(realInput({ datatype: 'FP32', shape: [1, 3], data: f32([1, 0.5, -1]) })).toEqual({
      shape: [3],
      values: new Float32Array([1, 0.5, -1]),
    });
    const q = Buffer.from([0, 10, 20]).toString('base64');
    const uint8 = realInput({ datatype: 'UINT8', shape: [1, 3], data: q, scale: 0.5, zero_point: 10 });
    expect(Array.from(uint8.values)).toEqual([-5, 0, 5]);
  });
});

/** Store contract, audit records part: see store.contract.ts. Runs last: `prune` bounds the whole table. */
import { describe, expect, it } from 'vitest';
import { rejectsWith, type StoreUnderTest, unique } from './contract-support.ts';
import type { NewAuditRecord } from './store.ts';

const record = (edgeId: string, over: Partial<NewAuditRecord> = {}): NewAuditRecord => ({
  source: 'audit',
  edgeId,
  deviceId: 'dev-1',
  requestId: unique('req'),
  answeredAt: new Date('2030-01-01T00:00:00Z'),
  rate: 0.02,
  answerTier: 'edge',
  device: { model: 'digits-tiny:1', outputs: [0.1, 2.5, -1], score: 0.4, label: 1 },
  edge: { model: 'digits-small:1', outputs: [0, 3, 1], score: 0.8, label: 1 },
  cloud: { model: 'digits-large:1', outputs: [0, 1, 4], score: 0.95, label: 2 },
  input: { name: 'input', datatype: 'FP32', shape: [1, 3], data: 'AAAAAAAAAAAAAAAA' },
  inputExpiresAt: new Date('2030-02-01T00:00:00Z'),
  ...over,
});

export function describeAuditRecordContract(sut: StoreUnderTest): void {
  describe('audit records', () => {
    it('stores every tier answer, the reference, p and the input, and lists them by edge, oldest first', async () => {
      const edge = unique('edge');
      const first = record(edge);
      const second = record(edge, { edge: null, answerTier: 'device', input: null, inputExpiresAt: null });
      expect(await sut.store.auditRecords.insert([first, second])).toBe(2);
      await sut.store.auditRecords.insert([record(unique('edge'))]);
      const listed = await sut.store.auditRecords.list({ edgeId: edge });
      expect(listed).toHaveLength(2);
      expect(listed[0]).toMatchObject({ ...first, feedbackLabel: null });
      expect(listed[0]!.id).toBeLessThan(listed[1]!.id);
      expect(listed[1]).toMatchObject({ edge: null, input: null, answerTier: 'device' });
      expect(listed[0]!.createdAt).toBeInstanceOf(Date);
      const since = await sut.store.auditRecords.list({ edgeId: edge, since: listed[0]!.createdAt });
      expect(since).toHaveLength(2);
      const later = new Date(listed[0]!.createdAt.getTime() + 1);
      expect(await sut.store.auditRecords.list({ edgeId: edge, since: later })).toEqual([]);
      expect(await sut.store.auditRecords.list({ edgeId: edge, limit: 1 })).toHaveLength(1);
      const after = await sut.store.auditRecords.list({ edgeId: edge, afterId: listed[0]!.id });
      expect(after.map((r) => r.id)).toEqual([listed[1]!.id]);
    });

    it('stores feedback records with their label, and joins a label to the records of one request only', async () => {
      const edge = unique('edge');
      const audited = record(edge);
      const other = record(edge, { requestId: audited.requestId, deviceId: 'dev-2' });
      const labelled = record(edge, { source: 'feedback', rate: 1, feedbackLabel: 0 });
      await sut.store.auditRecords.insert([audited, other, labelled]);
      const key = { edgeId: edge, deviceId: 'dev-1', requestId: audited.requestId };
      expect(await sut.store.auditRecords.addFeedback(key, 2)).toBe(1);
      expect(await sut.store.auditRecords.addFeedback({ ...key, requestId: unique('req') }, 2)).toBe(0);
      const listed = await sut.store.auditRecords.list({ edgeId: edge });
      expect(listed.map((r) => [r.source, r.deviceId, r.feedbackLabel])).toEqual([
        ['audit', 'dev-1', 2],
        ['audit', 'dev-2', null],
        ['feedback', 'dev-1', 0],
      ]);
      await expect(sut.store.auditRecords.addFeedback(key, -1)).rejects.toEqual(rejectsWith('INVALID_ARG'));
      await expect(sut.store.auditRecords.addFeedback({ ...key, edgeId: 'a b' }, 1)).rejects.toEqual(
        rejectsWith('INVALID_ARG'),
      );
    });

    it('deletes every record of one edge, and only of that edge', async () => {
      const [a, b] = [unique('edge'), unique('edge')];
      await sut.store.auditRecords.insert([record(a), record(a), record(b)]);
      expect(await sut.store.auditRecords.deleteByEdge(a)).toBe(2);
      expect(await sut.store.auditRecords.list({ edgeId: a })).toEqual([]);
      expect(await sut.store.auditRecords.list({ edgeId: b })).toHaveLength(1);
      expect(await sut.store.auditRecords.deleteByEdge(a)).toBe(0);
    });

    it('refuses malformed edge ids and limits', async () => {
      await expect(sut.store.auditRecords.list({ edgeId: 'a b' })).rejects.toEqual(
        rejectsWith('INVALID_ARG'),
      );
      await expect(sut.store.auditRecords.list({ limit: 0 })).rejects.toEqual(rejectsWith('INVALID_ARG'));
      await expect(sut.store.auditRecords.deleteByEdge('a/b')).rejects.toEqual(rejectsWith('INVALID_ARG'));
    });

    it('prunes to the newest records, past their age, and drops expired inputs', async () => {
      const edge = unique('edge');
      // The stepping clock moves 1 s per reading: each insert is one second after the one before.
      for (let i = 0; i < 5; i++) {
        await sut.store.auditRecords.insert([
          record(edge, { inputExpiresAt: new Date('2000-01-01T00:00:00Z') }),
        ]);
      }
      const kept = await sut.store.auditRecords.insert([
        record(edge, { inputExpiresAt: new Date('2100-01-01T00:00:00Z') }),
      ]);
      expect(kept).toBe(1);
      const pruned = await sut.store.auditRecords.prune({ maxRecords: 4, maxAgeMs: 365 * 86_400_000 });
      const left = await sut.store.auditRecords.list();
      expect(left).toHaveLength(4);
      expect(left.every((r) => r.edgeId === edge)).toBe(true);
      expect(pruned.inputsDropped).toBe(3);
      expect(left.map((r) => r.input === null)).toEqual([true, true, true, false]);
      // By age, two clock readings after the newest insert: only what is younger than 2.5 s (it) stays.
      await sut.store.auditRecords.prune({ maxRecords: 100, maxAgeMs: 2_500 });
      expect((await sut.store.auditRecords.list()).map((r) => r.id)).toEqual([left[3]!.id]);
      expect(pruned.deleted).toBeGreaterThanOrEqual(2);
    });
  });
}

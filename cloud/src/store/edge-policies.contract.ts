/** Store contract, edge policies and their change log: see store.contract.ts. */
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rejectsWith, type StoreUnderTest, unique } from './contract-support.ts';
import { edgePolicies } from './schema.ts';
import type { NewPolicyChange } from './store.ts';

const stages = (device: number, edge: number) =>
  ({
    device: { score: 'margin', threshold: device },
    edge: { score: 'margin', threshold: edge },
  }) as const;

const directive = (id: string, device: number, edge: number) => ({
  id,
  reason: 'test',
  ...stages(device, edge),
});

const change = (over: Partial<NewPolicyChange> = {}): NewPolicyChange => ({
  source: 'controller',
  action: 'conservative',
  from: stages(0.3, 0.4),
  to: stages(0.55, 0.65),
  why: 'drift alarm and too few records',
  figures: { records: 12, nEff: 12 },
  ...over,
});

export function describeEdgePolicyContract(sut: StoreUnderTest): void {
  describe('edge policies', () => {
    it('keeps the directive, pin and conservative state, and logs every change newest first', async () => {
      const edge = unique('edge');
      expect(await sut.store.edgePolicies.get(edge)).toBeNull();
      const first = await sut.store.edgePolicies.change(edge, change(), {
        directive: directive('c-1', 0.55, 0.65),
        conservative: true,
      });
      expect(first).toMatchObject({ edgeId: edge, source: 'controller', action: 'conservative' });
      const row = await sut.store.edgePolicies.get(edge);
      expect(row).toMatchObject({
        directive: directive('c-1', 0.55, 0.65),
        pinned: false,
        conservative: true,
      });
      expect(row?.lastChangeAt).toEqual(first?.at);
      await sut.store.edgePolicies.change(
        edge,
        change({
          source: 'operator',
          action: 'pin',
          from: stages(0.55, 0.65),
          to: stages(0.5, 0.6),
          figures: null,
        }),
        { directive: directive('o-1', 0.5, 0.6), pinned: true, conservative: false },
      );
      const log = await sut.store.edgePolicies.changes(edge);
      expect(log.map((c) => c.action)).toEqual(['pin', 'conservative']);
      expect(log[1]).toMatchObject({
        from: stages(0.3, 0.4),
        to: stages(0.55, 0.65),
        figures: { records: 12 },
      });
      expect(await sut.store.edgePolicies.changes(edge, 1)).toHaveLength(1);
      expect(await sut.store.edgePolicies.get(edge)).toMatchObject({ pinned: true, conservative: false });
      expect((await sut.store.edgePolicies.list()).some((r) => r.edgeId === edge)).toBe(true);
    });

    it("a conditional change (the controller's) never overwrites a pin or a directive set since it read the row", async () => {
      const edge = unique('edge');
      const ctl = (id: string) => ({ directive: directive(id, 0.55, 0.65), conservative: true });
      // A row with no directive yet (the controller's decisions only, or no row at all) → written.
      const none = { unpinned: true, directiveId: null } as const;
      const fresh = unique('edge');
      expect(await sut.store.edgePolicies.change(fresh, change(), ctl('c-0'), none)).not.toBeNull();
      await sut.store.edgePolicies.recordDecision(edge, {
        action: 'hold',
        why: 'too few records',
        figures: null,
      });
      expect(await sut.store.edgePolicies.change(edge, change(), ctl('c-1'), none)).toMatchObject({
        action: 'conservative',
      });
      // Read c-1; an operator pins o-1 before the controller writes: the controller's write is refused.
      const read = await sut.store.edgePolicies.get(edge);
      const pin = change({ source: 'operator', action: 'pin', figures: null });
      await sut.store.edgePolicies.change(edge, pin, { directive: directive('o-1', 0.5, 0.6), pinned: true });
      const onlyIf = { unpinned: true, directiveId: read?.directive?.id ?? null } as const;
      expect(await sut.store.edgePolicies.change(edge, change(), ctl('c-2'), onlyIf)).toBeNull();
      // Unpinned but the operator's directive stays until the controller reads it again.
      const unpin = change({ source: 'operator', action: 'unpin', from: null, to: null, figures: null });
      await sut.store.edgePolicies.change(edge, unpin, { pinned: false });
      expect(await sut.store.edgePolicies.change(edge, change(), ctl('c-3'), onlyIf)).toBeNull();
      expect(await sut.store.edgePolicies.get(edge)).toMatchObject({
        directive: directive('o-1', 0.5, 0.6),
        pinned: false,
      });
      expect((await sut.store.edgePolicies.changes(edge)).map((c) => c.action)).toEqual([
        'unpin',
        'pin',
        'conservative',
      ]);
      // Read again (o-1, unpinned): written.
      const now = { unpinned: true, directiveId: 'o-1' } as const;
      expect(await sut.store.edgePolicies.change(edge, change(), ctl('c-4'), now)).not.toBeNull();
      expect((await sut.store.edgePolicies.get(edge))?.directive?.id).toBe('c-4');
    });

    it('a stored directive that no longer reads counts as none, and a conditional change replaces it', async () => {
      const edge = unique('edge');
      await sut.store.edgePolicies.change(edge, change(), { directive: directive('c-1', 0.55, 0.65) });
      // Hand-edited (or written by another version): a score kind no reader knows.
      const junk = { id: 'c-1', reason: 'test', device: { score: 'nope', threshold: 2 } };
      await sut.connection.db
        .update(edgePolicies)
        .set({ directive: junk })
        .where(eq(edgePolicies.edgeId, edge));
      const read = await sut.store.edgePolicies.get(edge);
      expect(read).toMatchObject({
        directive: null,
        directiveUnreadable: true,
        storedDirectiveId: 'c-1',
        pinned: false,
      });
      const ctl = { directive: directive('c-2', 0.5, 0.6), conservative: true };
      // The row as read is the stored id, not "none".
      const none = { unpinned: true, directiveId: null } as const;
      expect(await sut.store.edgePolicies.change(edge, change(), ctl, none)).toBeNull();
      const asRead = { unpinned: true, directiveId: read!.storedDirectiveId } as const;
      expect(await sut.store.edgePolicies.change(edge, change(), ctl, asRead)).not.toBeNull();
      expect(await sut.store.edgePolicies.get(edge)).toMatchObject({
        directive: directive('c-2', 0.5, 0.6),
        directiveUnreadable: false,
        storedDirectiveId: 'c-2',
      });
    });

    it('keeps the last decision without touching the directive', async () => {
      const edge = unique('edge');
      await sut.store.edgePolicies.recordDecision(edge, {
        action: 'hold',
        why: 'too few records',
        figures: null,
      });
      const row = await sut.store.edgePolicies.get(edge);
      expect(row).toMatchObject({
        directive: null,
        pinned: false,
        lastDecision: { action: 'hold', why: 'too few records' },
      });
      expect(row?.lastDecision?.at).toBeInstanceOf(Date);
    });

    it("keeps the operator's audit rate until cleared, whatever the controller changes", async () => {
      const edge = unique('edge');
      const rate = (from: number | null, to: number | null) =>
        change({ source: 'operator', action: 'audit-rate', from: null, to: null, figures: { from, to } });
      await sut.store.edgePolicies.change(edge, rate(null, 0.5), { auditRate: 0.5 });
      expect(await sut.store.edgePolicies.get(edge)).toMatchObject({ auditRate: 0.5, directive: null });
      await sut.store.edgePolicies.change(edge, change(), { directive: directive('c-2', 0.5, 0.6) });
      expect(await sut.store.edgePolicies.get(edge)).toMatchObject({
        auditRate: 0.5,
        lastChangeAt: expect.any(Date),
      });
      await expect(sut.store.edgePolicies.change(edge, rate(0.5, 1.5), { auditRate: 1.5 })).rejects.toEqual(
        rejectsWith('INVALID_ARG'),
      );
      await sut.store.edgePolicies.change(edge, rate(0.5, null), { auditRate: null });
      expect((await sut.store.edgePolicies.get(edge))?.auditRate).toBeNull();
      const [last] = await sut.store.edgePolicies.changes(edge, 1);
      expect(last).toMatchObject({ action: 'audit-rate', figures: { from: 0.5, to: null } });
    });

    it('refuses malformed edge ids and limits', async () => {
      await expect(sut.store.edgePolicies.get('a b')).rejects.toEqual(rejectsWith('INVALID_ARG'));
      await expect(sut.store.edgePolicies.changes('edge-x', 0)).rejects.toEqual(rejectsWith('INVALID_ARG'));
    });
  });
}

/** Store contract, edges part: see store.contract.ts. */

import { CLOUD_EDGE_ID } from '@fogline/shared';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { BAD_NAMES, rejectsWith, type StoreUnderTest, unique } from './contract-support.ts';

import { edges } from './schema.ts';

export function describeEdgeContract(sut: StoreUnderTest): void {
  describe('edges', () => {
    it('creates an edge with a shown-once token that verifies; list and get show it', async () => {
      const id = unique('edge');
      const { record, token } = await sut.store.edges.create(id);
      expect(token).toMatch(/^fge_[A-Za-z0-9_-]{43}$/);
      expect(record).toMatchObject({ id, revokedAt: null, lastSeenAt: null });
      expect(await sut.store.edges.verify(id, token)).toEqual(record);
      expect(await sut.store.edges.get(id)).toEqual(record);
      expect(await sut.store.edges.list()).toContainEqual(record);
      const [row] = await sut.connection.db.select().from(edges).where(sql`${edges.id} = ${id}`);
      expect(JSON.stringify(row)).not.toContain(token.slice(4));
      expect(row?.tokenHash).toMatch(/^scrypt\$/);
    });

    it('refuses wrong tokens, other edges tokens and malformed ids', async () => {
      const a = await sut.store.edges.create(unique('edge'));
      const b = await sut.store.edges.create(unique('edge'));
      expect(await sut.store.edges.verify(a.record.id, b.token)).toBeNull();
      expect(await sut.store.edges.verify(a.record.id, '')).toBeNull();
      expect(await sut.store.edges.verify(unique('nope'), a.token)).toBeNull();
      expect(await sut.store.edges.verify('bad id', a.token)).toBeNull();
      expect(await sut.store.edges.verify(a.record.id, 'x'.repeat(10_000))).toBeNull();
    });

    it('duplicates are ALREADY_EXISTS; revoked edges fail verification and can be re-enrolled', async () => {
      const id = unique('edge');
      const first = await sut.store.edges.create(id);
      await expect(sut.store.edges.create(id)).rejects.toEqual(rejectsWith('ALREADY_EXISTS'));
      expect(await sut.store.edges.verify(id, first.token)).not.toBeNull();
      expect(await sut.store.edges.listRevoked()).not.toContain(id);
      const revoked = await sut.store.edges.revoke(id);
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      expect(await sut.store.edges.verify(id, first.token)).toBeNull();
      expect(await sut.store.edges.listRevoked()).toContain(id);
      const again = await sut.store.edges.create(id);
      expect(await sut.store.edges.listRevoked()).not.toContain(id);
      expect(await sut.store.edges.verify(id, first.token)).toBeNull();
      expect(await sut.store.edges.verify(id, again.token)).toEqual(again.record);
    });

    it('markSeen records the last contact time', async () => {
      const { record } = await sut.store.edges.create(unique('edge'));
      const at = new Date('2031-05-06T07:08:09Z');
      expect((await sut.store.edges.markSeen(record.id, at)).lastSeenAt).toEqual(at);
      expect((await sut.store.edges.get(record.id)).lastSeenAt).toEqual(at);
      expect((await sut.store.edges.markSeen(record.id)).lastSeenAt).toBeInstanceOf(Date);
      await expect(sut.store.edges.markSeen(unique('nope'))).rejects.toEqual(rejectsWith('NOT_FOUND'));
    });

    it('validates ids and reports unknown edges', async () => {
      for (const id of BAD_NAMES) {
        await expect(sut.store.edges.create(id)).rejects.toEqual(rejectsWith('INVALID_ARG'));
      }
      await expect(sut.store.edges.get(unique('nope'))).rejects.toEqual(rejectsWith('NOT_FOUND'));
      // The cloud's own edge id is reserved (it plays the edge of edgeless devices).
      await expect(sut.store.edges.create(CLOUD_EDGE_ID)).rejects.toEqual(rejectsWith('INVALID_ARG'));
      await expect(sut.store.edges.revoke(unique('nope'))).rejects.toEqual(rejectsWith('NOT_FOUND'));
    });
  });
}

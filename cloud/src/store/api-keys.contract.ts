/** Store contract, API keys part: see store.contract.ts. */
import { verifySecret } from '@fogline/shared/secrets';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { BAD_NAMES, rejectsWith, type StoreUnderTest, unique } from './contract-support.ts';

import { apiKeys } from './schema.ts';

export function describeApiKeyContract(sut: StoreUnderTest): void {
  describe('apiKeys', () => {
    it('creates a key shown once that verifies to its record', async () => {
      const name = unique('key');
      const { record, key } = await sut.store.apiKeys.create({ name, ratePerSec: 2.5, burst: 10 });
      expect(key).toMatch(/^fgl_[A-Za-z0-9_-]{43}$/);
      expect(record).toMatchObject({
        name,
        ratePerSec: 2.5,
        burst: 10,
        revokedAt: null,
        keyPrefix: key.slice(0, 12),
      });
      expect(record.createdAt).toBeInstanceOf(Date);
      expect(await sut.store.apiKeys.verify(key)).toEqual(record);
      expect(await sut.store.apiKeys.get(name)).toEqual(record);
      expect(await sut.store.apiKeys.list()).toContainEqual(record);
    });

    it('stores only a salted scrypt hash, never the key', async () => {
      const name = unique('key');
      const { key } = await sut.store.apiKeys.create({ name, ratePerSec: 1, burst: 1 });
      const rows = await sut.connection.db.select().from(apiKeys).where(sql`${apiKeys.name} = ${name}`);
      expect(rows).toHaveLength(1);
      const raw = JSON.stringify(rows[0]);
      expect(raw).not.toContain(key);
      expect(raw).not.toContain(key.slice(12)); // the secret part beyond the displayed prefix
      expect(rows[0]?.keyHash).toMatch(/^scrypt\$/);
      expect(await verifySecret(key, rows[0]?.keyHash ?? '')).toBe(true);
    });

    it('refuses a second active key with the same name and keeps the first one valid', async () => {
      const name = unique('key');
      const first = await sut.store.apiKeys.create({ name, ratePerSec: 1, burst: 1 });
      await expect(sut.store.apiKeys.create({ name, ratePerSec: 9, burst: 9 })).rejects.toEqual(
        rejectsWith('ALREADY_EXISTS'),
      );
      expect(await sut.store.apiKeys.verify(first.key)).toEqual(first.record);
    });

    it('revoked keys fail verification; revoke is idempotent and keeps the first time', async () => {
      const name = unique('key');
      const { key } = await sut.store.apiKeys.create({ name, ratePerSec: 1, burst: 1 });
      const revoked = await sut.store.apiKeys.revoke(name);
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      expect(await sut.store.apiKeys.verify(key)).toBeNull();
      expect((await sut.store.apiKeys.revoke(name)).revokedAt).toEqual(revoked.revokedAt);
      expect(await sut.store.apiKeys.get(name)).toEqual(revoked);
    });

    it('re-issuing a revoked name gives a new key; the old one stays dead', async () => {
      const name = unique('key');
      const old = await sut.store.apiKeys.create({ name, ratePerSec: 1, burst: 1 });
      await sut.store.apiKeys.revoke(name);
      const renewed = await sut.store.apiKeys.create({ name, ratePerSec: 4, burst: 8 });
      expect(renewed.record).toMatchObject({ name, ratePerSec: 4, burst: 8, revokedAt: null });
      expect(await sut.store.apiKeys.verify(old.key)).toBeNull();
      expect(await sut.store.apiKeys.verify(renewed.key)).toEqual(renewed.record);
    });

    it('rejects wrong, tampered and malformed keys with null, never an error', async () => {
      const { key } = await sut.store.apiKeys.create({ name: unique('key'), ratePerSec: 1, burst: 1 });
      const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
      for (const bad of [tampered, `${key}x`, key.slice(0, 20), '', 'fgl_', 'Bearer x', key.toUpperCase()]) {
        expect(await sut.store.apiKeys.verify(bad)).toBeNull();
      }
      expect(await sut.store.apiKeys.verify(undefined as unknown as string)).toBeNull();
    });

    it('validates names, rate and burst with INVALID_ARG and creates nothing', async () => {
      const before = (await sut.store.apiKeys.list()).length;
      for (const name of BAD_NAMES) {
        await expect(sut.store.apiKeys.create({ name, ratePerSec: 1, burst: 1 })).rejects.toEqual(
          rejectsWith('INVALID_ARG'),
        );
      }
      for (const ratePerSec of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(sut.store.apiKeys.create({ name: unique('k'), ratePerSec, burst: 1 })).rejects.toEqual(
          rejectsWith('INVALID_ARG'),
        );
      }
      for (const burst of [0, -3, 1.5, 2 ** 40]) {
        await expect(sut.store.apiKeys.create({ name: unique('k'), ratePerSec: 1, burst })).rejects.toEqual(
          rejectsWith('INVALID_ARG'),
        );
      }
      expect(await sut.store.apiKeys.list()).toHaveLength(before);
    });

    it('get and revoke of an unknown name are NOT_FOUND', async () => {
      await expect(sut.store.apiKeys.get(unique('missing'))).rejects.toEqual(rejectsWith('NOT_FOUND'));
      await expect(sut.store.apiKeys.revoke(unique('missing'))).rejects.toEqual(rejectsWith('NOT_FOUND'));
      await expect(sut.store.apiKeys.get('../etc')).rejects.toEqual(rejectsWith('INVALID_ARG'));
    });

    it('lists keys ordered by name', async () => {
      const names = await sut.store.apiKeys.list().then((all) => all.map((k) => k.name));
      expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    });
  });
}

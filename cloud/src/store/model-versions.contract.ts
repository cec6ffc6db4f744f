/** Store contract, model versions part: see store.contract.ts. */
import { describe, expect, it } from 'vitest';
import { rejectsWith, type StoreUnderTest, unique } from './contract-support.ts';
import type { ModelVersionInput } from './store.ts';

const digest = (c: string) => c.repeat(64);

export function describeModelVersionContract(sut: StoreUnderTest): void {
  describe('modelVersions', () => {
    const input = (
      model: string,
      version: number,
      over: Partial<ModelVersionInput> = {},
    ): ModelVersionInput => ({
      model,
      version,
      tier: 'edge',
      sha256: digest('a'),
      bytes: 12_345,
      status: 'staged',
      ...over,
    });

    it('upserts versions, keeps createdAt, and lists them ordered', async () => {
      const model = unique('digits');
      const v2 = await sut.store.modelVersions.upsert(input(model, 2));
      const v1 = await sut.store.modelVersions.upsert(
        input(model, 1, { tier: 'cloud', bytes: 5_000_000_000 }),
      );
      expect(v1).toMatchObject({
        model,
        version: 1,
        tier: 'cloud',
        bytes: 5_000_000_000,
        status: 'staged',
      });
      const promoted = await sut.store.modelVersions.upsert(
        input(model, 2, { status: 'active', sha256: digest('b') }),
      );
      expect(promoted).toMatchObject({ status: 'active', sha256: digest('b'), createdAt: v2.createdAt });
      expect(await sut.store.modelVersions.get(model, 2)).toEqual(promoted);
      expect(await sut.store.modelVersions.list(model)).toEqual([v1, promoted]);
      expect(await sut.store.modelVersions.list()).toEqual(expect.arrayContaining([v1, promoted]));
    });

    it('insertIfAbsent inserts once and then returns the row already there', async () => {
      const model = unique('digits');
      const first = await sut.store.modelVersions.insertIfAbsent(input(model, 1));
      expect(first).toMatchObject({ inserted: true, record: { model, version: 1, sha256: digest('a') } });
      const second = await sut.store.modelVersions.insertIfAbsent(input(model, 1, { sha256: digest('b') }));
      expect(second).toEqual({ inserted: false, record: first.record });
    });

    it('validates every field with INVALID_ARG and reports unknown versions as NOT_FOUND', async () => {
      const model = unique('digits');
      const bad: Partial<ModelVersionInput>[] = [
        { model: 'bad name' },
        { version: 0 },
        { version: 1.5 },
        { tier: 'fog' as never },
        { status: 'deleted' as never },
        { sha256: digest('A') },
        { sha256: 'abc' },
        { bytes: -1 },
        { bytes: 0.5 },
      ];
      for (const over of bad) {
        await expect(sut.store.modelVersions.upsert(input(model, 1, over))).rejects.toEqual(
          rejectsWith('INVALID_ARG'),
        );
      }
      expect(await sut.store.modelVersions.list(model)).toEqual([]);
      await expect(sut.store.modelVersions.get(model, 1)).rejects.toEqual(rejectsWith('NOT_FOUND'));
    });
  });
}

/** Published model versions: which (model, version) exists at which tier, with its digest and status. */
import { FoglineError } from '@fogline/shared';
import { and, asc, eq } from 'drizzle-orm';
import { byName, type StoreDatabase, type WallClock } from './database.ts';
import { modelVersions } from './schema.ts';
import type { ModelVersionInput, ModelVersionRepository } from './store.ts';
import { checkBytes, checkName, checkSha256, checkStatus, checkTier, checkVersion } from './validation.ts';

export function createModelVersionRepository(db: StoreDatabase, now: WallClock): ModelVersionRepository {
  async function get(model: string, version: number) {
    checkName('model', model);
    checkVersion(version);
    const [record] = await db
      .select()
      .from(modelVersions)
      .where(and(eq(modelVersions.model, model), eq(modelVersions.version, version)));
    if (!record) {
      throw new FoglineError('NOT_FOUND', `model '${model}' version ${version} is not registered`, {
        details: { model, version },
      });
    }
    return record;
  }

  return {
    async upsert(input: ModelVersionInput) {
      const model = checkName('model', input?.model);
      const version = checkVersion(input.version);
      const changes = {
        tier: checkTier(input.tier),
        sha256: checkSha256(input.sha256),
        bytes: checkBytes(input.bytes),
        status: checkStatus(input.status),
      };
      const [record] = await db
        .insert(modelVersions)
        .values({ model, version, ...changes, createdAt: now() })
        .onConflictDoUpdate({ target: [modelVersions.model, modelVersions.version], set: changes })
        .returning();
      if (!record) throw new FoglineError('INTERNAL', `upsert of ${model} v${version} returned no row`);
      return record;
    },

    async insertIfAbsent(input: ModelVersionInput) {
      const model = checkName('model', input?.model);
      const version = checkVersion(input.version);
      const [inserted] = await db
        .insert(modelVersions)
        .values({
          model,
          version,
          tier: checkTier(input.tier),
          sha256: checkSha256(input.sha256),
          bytes: checkBytes(input.bytes),
          status: checkStatus(input.status),
          createdAt: now(),
        })
        .onConflictDoNothing({ target: [modelVersions.model, modelVersions.version] })
        .returning();
      if (inserted) return { record: inserted, inserted: true };
      return { record: await get(model, version), inserted: false };
    },

    get,

    async list(model?: string) {
      if (model !== undefined) checkName('model', model);
      return db
        .select()
        .from(modelVersions)
        .where(model === undefined ? undefined : eq(modelVersions.model, model))
        .orderBy(byName(modelVersions.model), asc(modelVersions.version));
    },
  };
}

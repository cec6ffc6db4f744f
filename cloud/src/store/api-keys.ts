/** API keys: shown once, stored as scrypt hashes, found on verify by their 8-character display prefix. */
import { FoglineError } from '@fogline/shared';
import { generateSecret, hashSecret, verifySecret } from '@fogline/shared/secrets';
import { and, eq, isNotNull, isNull } from 'drizzle-orm';
import { byName, keepFirst, type StoreDatabase, type WallClock } from './database.ts';
import { apiKeys } from './schema.ts';
import type { ApiKeyRecord, ApiKeyRepository, NewApiKey } from './store.ts';
import { checkBurst, checkName, checkRate } from './validation.ts';

export const API_KEY_PREFIX = 'fgl_';
const API_KEY_PATTERN = /^fgl_[A-Za-z0-9_-]{43}$/;

/** True when `key` has the form of an API key (`fgl_` + 43 base64url chars); anything else is no key. */
export function isApiKeyShaped(key: unknown): key is string {
  return typeof key === 'string' && API_KEY_PATTERN.test(key);
}
/** `fgl_` + 8 chars = 48 random bits shown and indexed; the other 208 bits stay secret. */
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;

const recordColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  keyPrefix: apiKeys.keyPrefix,
  ratePerSec: apiKeys.ratePerSec,
  burst: apiKeys.burst,
  createdAt: apiKeys.createdAt,
  revokedAt: apiKeys.revokedAt,
};

export function createApiKeyRepository(db: StoreDatabase, now: WallClock): ApiKeyRepository {
  async function get(name: string): Promise<ApiKeyRecord> {
    checkName('name', name);
    const [row] = await db.select(recordColumns).from(apiKeys).where(eq(apiKeys.name, name));
    if (!row) throw new FoglineError('NOT_FOUND', `API key '${name}' does not exist`, { details: { name } });
    return row;
  }

  return {
    async create(input: NewApiKey) {
      const name = checkName('name', input?.name);
      const ratePerSec = checkRate(input.ratePerSec);
      const burst = checkBurst(input.burst);
      const key = generateSecret(API_KEY_PREFIX);
      const values = {
        name,
        keyHash: await hashSecret(key),
        keyPrefix: key.slice(0, DISPLAY_PREFIX_LENGTH),
        ratePerSec,
        burst,
        createdAt: now(),
        revokedAt: null,
      };
      // A revoked name may be re-issued (fresh key, fresh limits); an active one may not.
      const [record] = await db
        .insert(apiKeys)
        .values(values)
        .onConflictDoUpdate({ target: apiKeys.name, set: values, setWhere: isNotNull(apiKeys.revokedAt) })
        .returning(recordColumns);
      if (!record) {
        throw new FoglineError('ALREADY_EXISTS', `API key '${name}' already exists`, { details: { name } });
      }
      return { record, key };
    },

    async verify(key: string) {
      if (!isApiKeyShaped(key)) return null;
      const candidates = await db
        .select({ ...recordColumns, keyHash: apiKeys.keyHash })
        .from(apiKeys)
        .where(and(eq(apiKeys.keyPrefix, key.slice(0, DISPLAY_PREFIX_LENGTH)), isNull(apiKeys.revokedAt)));
      // Usually one candidate; a 48-bit prefix collision just costs one more scrypt.
      for (const { keyHash, ...record } of candidates) {
        if (await verifySecret(key, keyHash)) return record;
      }
      return null;
    },

    get,

    async list() {
      return db.select(recordColumns).from(apiKeys).orderBy(byName(apiKeys.name));
    },

    async revoke(name: string) {
      checkName('name', name);
      const [record] = await db
        .update(apiKeys)
        .set({ revokedAt: keepFirst(apiKeys.revokedAt, now()) })
        .where(eq(apiKeys.name, name))
        .returning(recordColumns);
      if (!record)
        throw new FoglineError('NOT_FOUND', `API key '${name}' does not exist`, { details: { name } });
      return record;
    },
  };
}

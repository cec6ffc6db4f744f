/**
 * The cache in front of `apiKeys.verify` (one scrypt, tens of ms): a CredentialCache keyed by the
 * presented key alone (by its SHA-256, never the key itself). Concurrent lookups of one key share a
 * single verification; `invalidateName` (on revoke) drops that key's answers and voids verifications
 * already under way, so a revocation takes effect on the next request. Answers expire after `ttlMs`,
 * which bounds how long a revocation made by another replica can go unnoticed; refusals after
 * `negativeTtlMs` (5 s), in slots of their own, so wrong keys never evict right ones.
 */
import type { Clock } from '@fogline/shared';
import { CredentialCache } from '@fogline/shared/secrets';
import { type ApiKeyRecord, isApiKeyShaped } from '../store/index.ts';

export interface ApiKeyCacheOptions {
  verify: (key: string) => Promise<ApiKeyRecord | null>;
  maxEntries?: number;
  ttlMs?: number;
  negativeTtlMs?: number;
  clock?: Clock;
}

/** API keys have no subject apart from the key: every entry shares this one. */
const ANY_KEY = '';

export class ApiKeyCache {
  private readonly cache: CredentialCache<ApiKeyRecord>;

  constructor(options: ApiKeyCacheOptions) {
    const ttlMs = options.ttlMs ?? 60_000;
    this.cache = new CredentialCache((_, key) => options.verify(key), {
      maxEntries: options.maxEntries,
      ttlMs,
      negativeTtlMs: options.negativeTtlMs ?? 5_000,
      clock: options.clock,
    });
  }

  /**
   * The key's record, or null for an unknown, wrong or revoked key. A settled cache hit is answered
   * synchronously (no promise on the hot path); a miss or a verification under way returns a promise.
   */
  lookup(key: string): ApiKeyRecord | null | Promise<ApiKeyRecord | null> {
    // A token that cannot be a key is refused without a slot: junk never evicts valid keys.
    if (!isApiKeyShaped(key)) return null;
    return this.cache.lookup(ANY_KEY, key);
  }

  /** Forgets every cached answer for the key called `name` (and any verification in flight). */
  invalidateName(name: string): void {
    this.cache.forgetWhere((_, record) => record?.name === name);
  }

  clear(): void {
    this.cache.clear();
  }
}

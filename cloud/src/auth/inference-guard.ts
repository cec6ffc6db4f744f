/**
 * Who may run inference: `Authorization: Bearer <api key>` checked against the store (through the
 * LRU), then one token from that key's bucket. With auth off every request passes unchecked.
 */
import { FoglineError, type TokenBuckets } from '@fogline/shared';
import type { CloudMetrics } from '../metrics/cloud-metrics.ts';
import type { ApiKeyRecord, ApiKeyRepository } from '../store/index.ts';
import { ApiKeyCache } from './api-key-cache.ts';
import { KeyRateLimiter } from './key-rate-limiter.ts';

export interface InferenceGuard {
  readonly enabled: boolean;
  /**
   * The caller's key record (null when auth is off), synchronously when the key is cached;
   * throws (or rejects with) UNAUTHENTICATED or RATE_LIMITED. `source` is the connecting socket's
   * address, for guards that limit failed authentications per address; `connection` its socket, for
   * guards that let a keep-alive connection repeat what it proved (connection-proofs.ts).
   */
  admit(
    authorization: string | undefined,
    source?: string,
    connection?: object,
  ): ApiKeyRecord | null | Promise<ApiKeyRecord | null>;
  /**
   * A caller whose key this guard verified lately (connection-proofs.ts): only its rate token is
   * taken. Throws (or rejects with) RATE_LIMITED.
   */
  readmit(record: ApiKeyRecord): ApiKeyRecord | Promise<ApiKeyRecord>;
  /** Call after a key is revoked: its next request is refused. */
  revoked(name: string): void;
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
  return match?.[1];
}

export function openInferenceGuard(): InferenceGuard {
  return { enabled: false, admit: () => null, readmit: (record) => record, revoked: () => {} };
}

/** `buckets`: the keys' token buckets (default in memory; cluster/ shares them between replicas). */
export function apiKeyInferenceGuard(
  apiKeys: ApiKeyRepository,
  metrics?: CloudMetrics,
  buckets?: TokenBuckets,
): InferenceGuard {
  const cache = new ApiKeyCache({ verify: (key) => apiKeys.verify(key) });
  const limiter = new KeyRateLimiter(buckets);
  const limited =
    (record: ApiKeyRecord) =>
    (err: unknown): never => {
      metrics?.rateLimited.inc({ key: record.name });
      throw err;
    };
  const check = (record: ApiKeyRecord | null): ApiKeyRecord | Promise<ApiKeyRecord> => {
    if (!record) {
      metrics?.authFailures.inc({ reason: 'invalid' });
      throw new FoglineError('UNAUTHENTICATED', 'invalid or revoked API key');
    }
    let taken: void | Promise<void>;
    try {
      taken = limiter.take(record);
    } catch (err) {
      return limited(record)(err);
    }
    return taken instanceof Promise ? taken.then(() => record, limited(record)) : record;
  };
  return {
    enabled: true,
    admit(authorization) {
      const key = bearerToken(authorization);
      if (key === undefined) {
        metrics?.authFailures.inc({ reason: 'missing' });
        throw new FoglineError('UNAUTHENTICATED', 'missing API key: send "Authorization: Bearer <api key>"');
      }
      const found = cache.lookup(key);
      return found instanceof Promise ? found.then(check) : check(found);
    },
    readmit: check,
    revoked(name) {
      cache.invalidateName(name);
      limiter.forget(name);
    },
  };
}

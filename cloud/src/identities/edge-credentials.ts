/**
 * Verified edge credentials, shared by the cloud broker (CONNECT) and the HTTP infer route: one
 * `store.edges.verify` (a scrypt) per new (edge id, token), then answered from memory until the edge
 * is revoked (`forget`) or the entry expires.
 */

import { CredentialCache, type CredentialCacheOptions } from '@fogline/shared/secrets';
import type { EdgeRepository } from '../store/index.ts';

export type EdgeCredentials = CredentialCache<string>;

export function edgeCredentials(
  edges: Pick<EdgeRepository, 'verify'>,
  options?: CredentialCacheOptions,
): EdgeCredentials {
  return new CredentialCache(async (id, token) => ((await edges.verify(id, token)) ? id : null), options);
}

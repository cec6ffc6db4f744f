/**
 * The admin token guards the admin API (/api/keys, repository load/unload). It is generated at first
 * start, written to `<dataDir>/admin-token` with mode 0600, and shown once; later starts read it back.
 */
import { timingSafeEqual } from 'node:crypto';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { generateSecret } from '@fogline/shared/secrets';
import { mkdirPrivate } from '@fogline/shared/storage';
import { readStateFile } from '../state-file.ts';

export const ADMIN_TOKEN_FILE = 'admin-token';
const ADMIN_TOKEN_PREFIX = 'fgladm_';

export interface AdminToken {
  token: string;
  path: string;
  /** True when this call generated it (the only time it should be printed). */
  created: boolean;
}

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, ADMIN_TOKEN_FILE);
}

/** Reads the admin token, creating it (0600) on first start. */
export async function ensureAdminToken(dataDir: string): Promise<AdminToken> {
  const path = adminTokenPath(dataDir);
  const existing = await readAdminToken(dataDir).catch((err: unknown) => {
    if ((err as FoglineError).code === 'NOT_FOUND') return undefined;
    throw err;
  });
  if (existing !== undefined) {
    await chmod(path, 0o600);
    return { token: existing, path, created: false };
  }
  await mkdirPrivate(dataDir);
  const token = generateSecret(ADMIN_TOKEN_PREFIX);
  try {
    // 'wx': never overwrite a token another process wrote a moment ago.
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return ensureAdminToken(dataDir);
    throw err;
  }
  return { token, path, created: true };
}

/** Reads `<dataDir>/admin-token`; NOT_FOUND when the cloud never started with this data dir. */
export async function readAdminToken(dataDir: string): Promise<string> {
  const path = adminTokenPath(dataDir);
  const text = await readStateFile(path, `no admin token: start "fogline cloud --data-dir ${dataDir}" once`);
  const token = text.trim();
  if (token.length === 0) throw new FoglineError('INTERNAL', `${path} is empty`);
  return token;
}

/** Constant-time comparison of a presented token with the real one. */
export function adminTokenMatches(presented: string | undefined, token: string): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Shown-once secrets (API keys, edge and device tokens): generation and salted scrypt hashes.
 *
 * A secret is `<prefix><43 base64url chars>` (32 random bytes). Only its hash is ever stored, encoded as
 * `scrypt$N$r$p$<salt>$<hash>` (salt 16 bytes, hash 32 bytes, both base64url), so the cost parameters
 * travel with the hash and can be raised later without invalidating old rows.
 *
 * Cost: N=16384, r=8, p=1 (16 MiB, tens of ms per hash). That is deliberately modest because the
 * broker and the HTTP gateway verify on every connect/request: callers on hot paths should cache
 * successful verifications (keyed by the presented secret's SHA-256, never by the secret itself).
 */
import { randomBytes, type ScryptOptions, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { FoglineError } from '../core/errors.ts';
import { scryptPool } from './scrypt-pool.ts';

export const SCRYPT_PARAMS = Object.freeze({ N: 16_384, r: 8, p: 1 });
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const SECRET_BYTES = 32;
/** Longer inputs cannot be one of our secrets; refusing them bounds the work an attacker can cause. */
export const MAX_SECRET_LENGTH = 256;
// Bounds on parameters read back from storage, so a corrupt row cannot make us allocate gigabytes.
const MAX_LOG2_N = 20;
const MAX_R = 32;
const MAX_P = 16;

const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}_$/;

const SECRET_BODY = /^[A-Za-z0-9_-]{43}$/;

/** True when `value` has the form `generateSecret(prefix)` makes: anything else is refused unseen. */
export function isSecretShaped(value: unknown, prefix: string): value is string {
  return (
    typeof value === 'string' &&
    value.length === prefix.length + 43 &&
    value.startsWith(prefix) &&
    SECRET_BODY.test(value.slice(prefix.length))
  );
}

/** `generateSecret('fgl_')` → `fgl_` + 32 random bytes as base64url (43 chars). */
export function generateSecret(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new FoglineError(
      'INVALID_ARG',
      `secret prefix must match ${PREFIX_PATTERN}, got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix + randomBytes(SECRET_BYTES).toString('base64url');
}

interface ScryptHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly hash: Buffer;
}

function scryptOptions(N: number, r: number, p: number): ScryptOptions {
  // Node's default maxmem (32 MiB) is exactly 2x our default need; leave headroom for raised costs.
  return { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
}

function encode({ N, r, p, salt, hash }: ScryptHash): string {
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

function decode(encoded: string): ScryptHash {
  const parts = encoded.split('$');
  const [scheme, nText, rText, pText, saltText, hashText] = parts;
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  const valid =
    parts.length === 6 &&
    scheme === 'scrypt' &&
    Number.isInteger(N) &&
    N > 1 &&
    (N & (N - 1)) === 0 &&
    N <= 2 ** MAX_LOG2_N &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= MAX_R &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= MAX_P &&
    saltText !== undefined &&
    hashText !== undefined;
  const salt = valid ? Buffer.from(saltText, 'base64url') : Buffer.alloc(0);
  const hash = valid ? Buffer.from(hashText, 'base64url') : Buffer.alloc(0);
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) {
    throw new FoglineError('INTERNAL', 'stored secret hash is malformed (expected scrypt$N$r$p$salt$hash)');
  }
  return { N, r, p, salt, hash };
}

function scryptAsync(
  secret: string,
  salt: Buffer,
  keyLength: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, options, (err, derived) => (err ? reject(err) : resolve(derived)));
  });
}

/** Hashes a secret with a fresh random salt; runs on libuv's thread pool. */
export async function hashSecret(secret: string): Promise<string> {
  const { N, r, p } = SCRYPT_PARAMS;
  const salt = randomBytes(SALT_BYTES);
  const hash = await scryptAsync(secret, salt, HASH_BYTES, scryptOptions(N, r, p));
  return encode({ N, r, p, salt, hash });
}

/** Synchronous twin of hashSecret, for callers that cannot await (blocks the event loop ~tens of ms). */
export function hashSecretSync(secret: string): string {
  const { N, r, p } = SCRYPT_PARAMS;
  const salt = randomBytes(SALT_BYTES);
  const hash = scryptSync(secret, salt, HASH_BYTES, scryptOptions(N, r, p));
  return encode({ N, r, p, salt, hash });
}

/**
 * True when `secret` hashes to `encoded`. Comparison is constant-time. A wrong or oversized secret is
 * false; a malformed `encoded` (our own storage) throws INTERNAL rather than silently failing auth.
 * Runs through `scryptPool` (bounded concurrency): rejects with UNAVAILABLE when the pool is full.
 */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const stored = decode(encoded);
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > MAX_SECRET_LENGTH) return false;
  const derived = await scryptPool.run(() =>
    scryptAsync(secret, stored.salt, stored.hash.length, scryptOptions(stored.N, stored.r, stored.p)),
  );
  return timingSafeEqual(derived, stored.hash);
}

/** Synchronous twin of verifySecret (blocks the event loop ~tens of ms; cache successes). */
export function verifySecretSync(secret: string, encoded: string): boolean {
  const stored = decode(encoded);
  if (typeof secret !== 'string' || secret.length === 0 || secret.length > MAX_SECRET_LENGTH) return false;
  const derived = scryptSync(
    secret,
    stored.salt,
    stored.hash.length,
    scryptOptions(stored.N, stored.r, stored.p),
  );
  return timingSafeEqual(derived, stored.hash);
}

/** The hash a subject that does not exist is checked against (made once, of a secret nobody holds). */
let dummyHash: Promise<string> | undefined;

/**
 * Spends what `verifySecret` would, against a dummy hash, and answers false: for a subject (edge,
 * device) that does not exist, so that response time does not tell an outsider which ids exist.
 */
export async function verifyNoSubject(secret: string): Promise<false> {
  dummyHash ??= hashSecret(generateSecret('dummy_'));
  await verifySecret(typeof secret === 'string' && secret.length > 0 ? secret : 'x', await dummyHash);
  return false;
}

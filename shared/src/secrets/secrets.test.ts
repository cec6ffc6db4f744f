import { describe, expect, it } from 'vitest';
import { isFoglineError } from '../core/errors.ts';
import {
  generateSecret,
  hashSecret,
  hashSecretSync,
  MAX_SECRET_LENGTH,
  SCRYPT_PARAMS,
  verifyNoSubject,
  verifySecret,
  verifySecretSync,
} from './secrets.ts';

describe('generateSecret', () => {
  it('is the prefix plus 32 random bytes in base64url, different every time', () => {
    const a = generateSecret('fgl_');
    const b = generateSecret('fgl_');
    expect(a).toMatch(/^fgl_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
  });

  it('refuses a prefix that would make secrets ambiguous', () => {
    for (const bad of ['', 'fgl', 'FGL_', 'a b_', `${'x'.repeat(20)}_`]) {
      expect(() => generateSecret(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARG' }));
    }
  });
});

describe('hashSecret / verifySecret', () => {
  it('encodes scrypt parameters, salt and hash, and never contains the secret', async () => {
    const secret = generateSecret('fgl_');
    const encoded = await hashSecret(secret);
    const { N, r, p } = SCRYPT_PARAMS;
    expect(encoded).toMatch(
      new RegExp(`^scrypt\\$${N}\\$${r}\\$${p}\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`),
    );
    expect(encoded).not.toContain(secret.slice(4));
  });

  it('salts: the same secret hashes differently each time, and both verify', async () => {
    const secret = generateSecret('fge_');
    const [h1, h2] = await Promise.all([hashSecret(secret), hashSecret(secret)]);
    expect(h1).not.toBe(h2);
    expect(await verifySecret(secret, h1)).toBe(true);
    expect(await verifySecret(secret, h2)).toBe(true);
  });

  it('rejects a different secret, a one-character change, empty and oversized input', async () => {
    const secret = generateSecret('fgd_');
    const encoded = await hashSecret(secret);
    const last = secret.at(-1) === 'A' ? 'B' : 'A';
    expect(await verifySecret(generateSecret('fgd_'), encoded)).toBe(false);
    expect(await verifySecret(secret.slice(0, -1) + last, encoded)).toBe(false);
    expect(await verifySecret('', encoded)).toBe(false);
    expect(await verifySecret(secret + 'x'.repeat(MAX_SECRET_LENGTH), encoded)).toBe(false);
  });

  it('sync and async forms are interchangeable', async () => {
    const secret = generateSecret('fgl_');
    const fromSync = hashSecretSync(secret);
    const fromAsync = await hashSecret(secret);
    expect(await verifySecret(secret, fromSync)).toBe(true);
    expect(verifySecretSync(secret, fromAsync)).toBe(true);
    expect(verifySecretSync('fgl_wrong', fromAsync)).toBe(false);
  });

  it('honours the parameters stored with an old hash (costs can change without breaking keys)', async () => {
    const secret = generateSecret('fgl_');
    const encoded = await hashSecret(secret);
    // Re-derive with a different cost and rewrite the record as an older deployment would have stored it.
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.from('0123456789abcdef');
    const hash = scryptSync(secret, salt, 32, { N: 1024, r: 8, p: 1 });
    const older = `scrypt$1024$8$1$${salt.toString('base64url')}$${hash.toString('base64url')}`;
    expect(await verifySecret(secret, older)).toBe(true);
    expect(await verifySecret(secret, encoded)).toBe(true);
  });

  it('throws INTERNAL on a corrupt stored hash instead of allocating or silently passing', async () => {
    const secret = generateSecret('fgl_');
    const good = await hashSecret(secret);
    const [, , , , salt, hash] = good.split('$');
    const corrupt = [
      'plaintext',
      `bcrypt$16384$8$1$${salt}$${hash}`,
      `scrypt$1000$8$1$${salt}$${hash}`, // N not a power of two
      `scrypt$${2 ** 24}$8$1$${salt}$${hash}`, // would need GiBs of memory
      `scrypt$16384$8$1$$${hash}`,
      `scrypt$16384$8$1$${salt}$`,
    ];
    for (const encoded of corrupt) {
      const err = await verifySecret(secret, encoded).catch((e: unknown) => e);
      expect(isFoglineError(err) && err.code).toBe('INTERNAL');
      expect(() => verifySecretSync(secret, encoded)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    }
  });
});

describe('verifyNoSubject', () => {
  it('answers false for any secret, a real one included', async () => {
    expect(await verifyNoSubject(generateSecret('fge_'))).toBe(false);
    expect(await verifyNoSubject('')).toBe(false);
  });
});

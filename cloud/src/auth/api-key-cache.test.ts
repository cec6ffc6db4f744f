import { ManualClock } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import type { ApiKeyRecord } from '../store/index.ts';
import { ApiKeyCache } from './api-key-cache.ts';
import { bearerToken } from './inference-guard.ts';
import { KeyRateLimiter } from './key-rate-limiter.ts';

const record = (name: string, over: Partial<ApiKeyRecord> = {}): ApiKeyRecord => ({
  id: 1,
  name,
  keyPrefix: 'fgl_xxxxxxxx',
  ratePerSec: 2,
  burst: 2,
  createdAt: new Date(0),
  revokedAt: null,
  ...over,
});

/** Keys of the real form (`fgl_` + 43 base64url chars): the cache refuses anything else unseen. */
const ALICE = `fgl_${'a'.repeat(43)}`;
const BOB = `fgl_${'b'.repeat(43)}`;
const WRONG = `fgl_${'w'.repeat(43)}`;

/** A verify function over a mutable key table that counts its (expensive) calls. */
function keyTable() {
  const keys = new Map<string, ApiKeyRecord>([[ALICE, record('alice')]]);
  let calls = 0;
  const verify = async (key: string) => {
    calls++;
    await new Promise((r) => setTimeout(r, 5));
    return keys.get(key) ?? null;
  };
  return { keys, verify, calls: () => calls };
}

describe('ApiKeyCache', () => {
  it('verifies a key once, including concurrent first requests', async () => {
    const t = keyTable();
    const cache = new ApiKeyCache({ verify: t.verify });
    const results = await Promise.all([cache.lookup(ALICE), cache.lookup(ALICE)]);
    expect(results.map((r) => r?.name)).toEqual(['alice', 'alice']);
    // A settled hit is answered without a promise (the hot path).
    expect(cache.lookup(ALICE)).toMatchObject({ name: 'alice' });
    expect(await cache.lookup(WRONG)).toBeNull();
    expect(t.calls()).toBe(2);
  });

  it('refuses tokens that cannot be keys without verifying or caching them: junk never evicts a valid key', async () => {
    const t = keyTable();
    const cache = new ApiKeyCache({ verify: t.verify, maxEntries: 2 });
    expect(await cache.lookup(ALICE)).toMatchObject({ name: 'alice' });
    for (let i = 0; i < 100; i++) {
      for (const junk of [`fgl_${i}`, `x${'a'.repeat(46)}`, `fgl_${'a'.repeat(42)}!`, '']) {
        expect(cache.lookup(junk)).toBeNull(); // at once, no promise
      }
    }
    expect(t.calls()).toBe(1);
    expect(cache.lookup(ALICE)).toMatchObject({ name: 'alice' }); // still a synchronous hit
  });

  it('forgets a revoked key at once, even while its verification is in flight', async () => {
    const t = keyTable();
    const cache = new ApiKeyCache({ verify: t.verify });
    expect(await cache.lookup(ALICE)).not.toBeNull();
    t.keys.delete(ALICE);
    cache.invalidateName('alice');
    expect(await cache.lookup(ALICE)).toBeNull();

    t.keys.set(ALICE, record('alice'));
    cache.clear();
    const pending = cache.lookup(ALICE); // verification under way...
    t.keys.delete(ALICE);
    cache.invalidateName('alice'); // ...when the key is revoked
    expect(await pending).toBeNull();
  });

  it('expires entries after ttlMs and evicts the least recently used', async () => {
    const t = keyTable();
    t.keys.set(BOB, record('bob'));
    const clock = new ManualClock();
    const cache = new ApiKeyCache({ verify: t.verify, ttlMs: 1000, maxEntries: 1, clock });
    await cache.lookup(ALICE);
    await cache.lookup(BOB); // evicts alice
    await cache.lookup(ALICE);
    expect(t.calls()).toBe(3);
    clock.advance(1001);
    await cache.lookup(ALICE);
    expect(t.calls()).toBe(4);
  });
});

describe('KeyRateLimiter', () => {
  it('allows the burst, then refuses with the wait until the next token', () => {
    const clock = new ManualClock();
    const limiter = new KeyRateLimiter(undefined, clock);
    const alice = record('alice', { ratePerSec: 2, burst: 2 });
    limiter.take(alice);
    limiter.take(alice);
    expect(() => limiter.take(alice)).toThrow(
      expect.objectContaining({
        code: 'RATE_LIMITED',
        details: expect.objectContaining({ retryAfterMs: 500 }),
      }),
    );
    clock.advance(500);
    limiter.take(alice);
    // Other keys have buckets of their own.
    limiter.take(record('bob', { id: 2 }));
  });

  it('starts a fresh bucket when a key is re-issued with new limits', () => {
    const limiter = new KeyRateLimiter(undefined, new ManualClock());
    limiter.take(record('alice', { burst: 1, ratePerSec: 1 }));
    expect(() => limiter.take(record('alice', { burst: 1, ratePerSec: 1 }))).toThrow();
    limiter.take(record('alice', { id: 9, burst: 1, ratePerSec: 1 }));
  });
});

describe('bearerToken', () => {
  it('reads RFC 6750 bearer credentials and nothing else', () => {
    expect(bearerToken('Bearer fgl_abc')).toBe('fgl_abc');
    expect(bearerToken('bearer  fgl_abc ')).toBe('fgl_abc');
    expect(bearerToken('Basic Zm9vOmJhcg==')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

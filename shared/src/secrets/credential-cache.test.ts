import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { CredentialCache } from './credential-cache.ts';

/** A credential table whose (slow) check counts its calls. */
function table() {
  const tokens = new Map([['edge-1', 'fge_right']]);
  let calls = 0;
  const check = async (id: string, token: string) => {
    calls++;
    await new Promise((r) => setTimeout(r, 5));
    return tokens.get(id) === token ? id : null;
  };
  return { tokens, check, calls: () => calls };
}

describe('CredentialCache', () => {
  it('verifies a credential once, even for concurrent first lookups, then answers synchronously', async () => {
    const t = table();
    const cache = new CredentialCache(t.check);
    expect(
      await Promise.all([cache.lookup('edge-1', 'fge_right'), cache.lookup('edge-1', 'fge_right')]),
    ).toEqual(['edge-1', 'edge-1']);
    expect(cache.lookup('edge-1', 'fge_right')).toBe('edge-1');
    expect(await cache.lookup('edge-1', 'fge_wrong')).toBeNull();
    expect(await cache.lookup('edge-2', 'fge_right')).toBeNull();
    expect(t.calls()).toBe(3);
  });

  it('refuses a revoked subject from the next lookup, even while its verification is in flight', async () => {
    const t = table();
    const cache = new CredentialCache(t.check);
    expect(await cache.lookup('edge-1', 'fge_right')).toBe('edge-1');
    t.tokens.delete('edge-1');
    cache.forget('edge-1');
    expect(await cache.lookup('edge-1', 'fge_right')).toBeNull();

    t.tokens.set('edge-1', 'fge_right');
    cache.clear();
    const pending = cache.lookup('edge-1', 'fge_right'); // verification under way...
    t.tokens.delete('edge-1');
    cache.forget('edge-1'); // ...when the edge is revoked
    expect(await pending).toBeNull();
  });

  it('remembers refusals briefly and successes for ttlMs, and evicts the least recently used', async () => {
    const t = table();
    const clock = new ManualClock();
    const cache = new CredentialCache(t.check, { ttlMs: 1000, negativeTtlMs: 100, maxEntries: 2, clock });
    await cache.lookup('edge-1', 'fge_wrong');
    await cache.lookup('edge-1', 'fge_wrong');
    expect(t.calls()).toBe(1);
    clock.advance(101);
    await cache.lookup('edge-1', 'fge_wrong'); // refusal expired: checked again
    expect(t.calls()).toBe(2);

    await cache.lookup('edge-1', 'fge_right');
    clock.advance(500);
    await cache.lookup('edge-1', 'fge_right');
    expect(t.calls()).toBe(3);
    clock.advance(501);
    await cache.lookup('edge-1', 'fge_right'); // success expired
    expect(t.calls()).toBe(4);

    t.tokens.set('edge-2', 'a');
    t.tokens.set('edge-3', 'b');
    await cache.lookup('edge-2', 'a');
    await cache.lookup('edge-3', 'b'); // evicts edge-1
    await cache.lookup('edge-1', 'fge_right');
    expect(t.calls()).toBe(7);
  });

  it('keeps refusals apart from verified credentials: a flood of wrong tokens never evicts a right one', async () => {
    const t = table();
    const cache = new CredentialCache(t.check, { maxEntries: 2, maxNegativeEntries: 8 });
    expect(await cache.lookup('edge-1', 'fge_right')).toBe('edge-1');
    await Promise.all(Array.from({ length: 100 }, (_, i) => cache.lookup('edge-1', `fge_wrong${i}`)));
    expect(cache.lookup('edge-1', 'fge_right')).toBe('edge-1'); // still a synchronous hit
    expect(cache.size).toBe(1);
    // The refusals are bounded: the oldest went first, the latest are still answered from memory.
    const calls = t.calls();
    expect(await cache.lookup('edge-1', 'fge_wrong99')).toBeNull();
    expect(t.calls()).toBe(calls);
    expect(await cache.lookup('edge-1', 'fge_wrong0')).toBeNull();
    expect(t.calls()).toBe(calls + 1);
  });

  it('does not cache a check that failed (e.g. the database was down)', async () => {
    let fail = true;
    const cache = new CredentialCache(async (id: string) => {
      if (fail) throw new Error('database down');
      return id;
    });
    await expect(cache.lookup('edge-1', 't')).rejects.toThrow('database down');
    fail = false;
    expect(await cache.lookup('edge-1', 't')).toBe('edge-1');
  });
});

/** Dashboard sessions on a hand-driven clock: expiry, revocation, and the bound on how many are kept. */
import { describe, expect, it } from 'vitest';
import { WebSessions } from './web-sessions.ts';

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('WebSessions', () => {
  it('holds a session until it expires, then forgets it', () => {
    const c = clock();
    const sessions = new WebSessions({ ttlMs: 60_000, maxSessions: 10, clock: c });
    const { id } = sessions.create();
    expect(id).toMatch(/^[\w-]{43}$/);
    c.advance(59_999);
    expect(sessions.get(id)).toEqual({ id, expiresAt: 61_000 });
    c.advance(1);
    expect(sessions.get(id)).toBeUndefined();
    expect(sessions.size).toBe(0);
  });

  it('revokes one session and leaves the others', () => {
    const sessions = new WebSessions({ ttlMs: 60_000, maxSessions: 10, clock: clock() });
    const a = sessions.create();
    const b = sessions.create();
    expect(a.id).not.toBe(b.id);
    sessions.revoke(a.id);
    expect(sessions.get(a.id)).toBeUndefined();
    expect(sessions.get(b.id)?.id).toBe(b.id);
    expect(sessions.get(undefined)).toBeUndefined();
    expect(sessions.get('made-up')).toBeUndefined();
  });

  it('keeps at most maxSessions, dropping the oldest', () => {
    const sessions = new WebSessions({ ttlMs: 60_000, maxSessions: 3, clock: clock() });
    const ids = Array.from({ length: 5 }, () => sessions.create().id);
    expect(sessions.size).toBe(3);
    expect(ids.map((id) => sessions.get(id) !== undefined)).toEqual([false, false, true, true, true]);
  });
});

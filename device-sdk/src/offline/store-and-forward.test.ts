/**
 * Store and forward over a real FileQueue, with the edge played by the test through the sender: one
 * answer per request id whatever the edge sends twice, busy replies sent again, and answers after a
 * reopen going to onOrphan.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FabricReply } from '@fogline/shared';
import { afterEach, describe, expect, it } from 'vitest';
import type { Outcome } from '../escalations.ts';
import { FileQueue } from './file-queue.ts';
import { StoreAndForward } from './store-and-forward.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function setUp(dir: string) {
  const sent: string[] = [];
  const orphans: [string, Outcome][] = [];
  let online = false;
  const forward = new StoreAndForward({
    queue: new FileQueue({ dir, maxBytes: 1 << 20 }),
    ttlMs: 60_000,
    sweepMs: 20,
    sender: {
      isOnline: () => online,
      send: async (payload) => {
        sent.push(new TextDecoder().decode(payload));
      },
    },
    onOrphan: (id, outcome) => orphans.push([id, outcome]),
  });
  cleanups.push(() => forward.close());
  const goOnline = () => {
    online = true;
    forward.onStateChange('online');
  };
  return { forward, sent, orphans, goOnline };
}

const ok = (id: string) =>
  ({
    ok: true,
    id,
    logits: new Float32Array(2),
    outputKind: 'logits',
    tier: 'edge',
    score: 1,
    degraded: false,
  }) as unknown as FabricReply;

function dir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'fogline-forward-'));
  cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
  return join(parent, 'queue');
}

describe('StoreAndForward', () => {
  it('sends what was stored offline in order once online, and hands each id one answer', async () => {
    const { forward, sent, goOnline } = setUp(dir());
    const calls = ['a', 'b', 'c'].map((id) => forward.enqueue(id, 500, new TextEncoder().encode(id)));
    expect(sent).toEqual([]);
    goOnline();
    expect(sent).toEqual(['a', 'b', 'c']);
    expect(forward.onReply(ok('b'))).toBe(true);
    expect(forward.onReply(ok('b'))).toBe(false); // the edge answered a second copy: ignored
    forward.onReply(ok('a'));
    forward.onReply(ok('c'));
    const outcomes = await Promise.all(calls);
    expect(outcomes.map((o) => o.kind)).toEqual(['reply', 'reply', 'reply']);
    expect(forward.counts()).toMatchObject({ stored: 3, answered: 3, queued: 0 });
  });

  it('sends again after a busy reply and after a reconnect', async () => {
    const { forward, sent, goOnline } = setUp(dir());
    const call = forward.enqueue('a', 500, new TextEncoder().encode('a'));
    goOnline();
    forward.onReply({
      ok: false,
      id: 'a',
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryAfterMs: 30,
    } as FabricReply);
    await new Promise((r) => setTimeout(r, 200));
    expect(sent).toEqual(['a', 'a']);
    forward.onStateChange('offline');
    goOnline();
    expect(sent).toEqual(['a', 'a', 'a']);
    forward.onReply(ok('a'));
    expect((await call).kind).toBe('reply');
  });

  it('after a reopen, answers go to onOrphan once, and a late duplicate nowhere', () => {
    const where = dir();
    const first = setUp(where);
    void first.forward.enqueue('a', 500, new TextEncoder().encode('a')).catch(() => {});
    void first.forward.enqueue('b', 500, new TextEncoder().encode('b')).catch(() => {});
    first.forward.close();

    const second = setUp(where);
    expect(second.forward.counts()).toMatchObject({ replayed: 2, queued: 2 });
    second.goOnline();
    expect(second.sent).toEqual(['a', 'b']);
    second.forward.onReply(ok('a'));
    second.forward.onReply(ok('a'));
    expect(second.orphans.map(([id, o]) => [id, o.kind])).toEqual([['a', 'reply']]);
  });
});

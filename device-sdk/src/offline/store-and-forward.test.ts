/**
 * Store and forward over a real FileQueue, with the edge played by the test through the sender: one
 * answer per request id whatever the edge sends twice, busy replies sent again, answers after a
 * reopen going to onOrphan, and an onOrphan that throws neither escaping nor stopping the others.
 */
import { fdatasync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FabricReply } from '@fogline/shared';
import { afterEach, describe, expect, it } from 'vitest';
import type { Outcome } from '../escalations.ts';
import { type DiskSync, NODE_DISK_SYNC } from './disk-sync.ts';
import { FileQueue } from './file-queue.ts';
import { StoreAndForward } from './store-and-forward.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function setUp(dir: string, disk?: DiskSync) {
  const sent: string[] = [];
  const orphans: [string, Outcome][] = [];
  let online = false;
  const queue = new FileQueue({ dir, maxBytes: 1 << 20, ...(disk && { disk }) });
  const forward = new StoreAndForward({
    queue,
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
  return { forward, queue, sent, orphans, goOnline };
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

/** node:fs whose async syncs wait until `release()`, or fail with EIO while `failing`. */
function testDisk() {
  const held: (() => void)[] = [];
  const state = { failing: false };
  const disk: DiskSync = {
    ...NODE_DISK_SYNC,
    fdatasync(fd, callback) {
      if (state.failing) {
        const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), {
          code: 'EIO',
          syscall: 'fdatasync',
        });
        setImmediate(() => callback(eio));
      } else held.push(() => fdatasync(fd, callback));
    },
  };
  const release = () => {
    for (const run of held.splice(0)) run();
  };
  return { disk, held, state, release };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

/** Waits until `done()` holds (polled every 10 ms), failing after 5 s. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 10) {
    if (waited > 5_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function dir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'fogline-forward-'));
  cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
  return join(parent, 'queue');
}

describe('StoreAndForward', () => {
  it('sends what was stored offline in order once online, and hands each id one answer', async () => {
    const { forward, queue, sent, goOnline } = setUp(dir());
    const calls = ['a', 'b', 'c'].map((id) => forward.enqueue(id, 500, new TextEncoder().encode(id)));
    expect(sent).toEqual([]);
    goOnline();
    await queue.synced();
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
    const { forward, queue, sent, goOnline } = setUp(dir());
    const call = forward.enqueue('a', 500, new TextEncoder().encode('a'));
    goOnline();
    await queue.synced();
    expect(sent).toEqual(['a']);
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

  it('sends a stored request only once its put line is synced', async () => {
    const { disk, held, release } = testDisk();
    const { forward, queue, sent, goOnline } = setUp(dir(), disk);
    goOnline();
    // Online, but the store takes it (its edge never answers here: closed at the end, UNAVAILABLE).
    void forward.enqueue('x', 500, new TextEncoder().encode('x')).catch(() => {});
    expect(forward.takes('online')).toBe(true);
    await turn();
    expect(held).toHaveLength(1); // its sync is in flight
    // Sweeps (every 20 ms) and a reconnect pump the store meanwhile: nothing goes out.
    await new Promise((r) => setTimeout(r, 60));
    goOnline();
    expect(sent).toEqual([]);
    const synced = queue.synced();
    release();
    await synced;
    expect(sent).toEqual(['x']);
  });

  it("a put whose sync fails rejects its call with the error, is never sent and not replayed; a done line's is counted", async () => {
    const where = dir();
    const { disk, state, release } = testDisk();
    const first = setUp(where, disk);
    state.failing = true;
    const call = first.forward.enqueue('a', 500, new TextEncoder().encode('a'));
    await expect(call).rejects.toMatchObject({ code: 'EIO' });
    expect(first.forward.counts()).toMatchObject({ queued: 0, diskErrors: 1 });
    first.goOnline();
    expect(first.sent).toEqual([]);

    // A done line whose sync fails: the answer is already handed on; the failure is counted.
    state.failing = false;
    const b = first.forward.enqueue('b', 500, new TextEncoder().encode('b'));
    await turn();
    const synced = first.queue.synced();
    release();
    await synced;
    expect(first.sent).toEqual(['b']);
    state.failing = true;
    first.forward.onReply(ok('b'));
    expect((await b).kind).toBe('reply');
    await first.queue.synced().catch(() => {});
    expect(first.forward.counts()).toMatchObject({ answered: 1, diskErrors: 2 });
    first.forward.close();

    // 'a' has a done line ('failed'): a restart does not send it (b's done line reached the page cache).
    const second = setUp(where);
    expect(second.forward.counts()).toMatchObject({ replayed: 0, queued: 0 });
  });

  it('a write error in the expiry sweep is counted, not thrown; what it left expires at a later sweep', async () => {
    const where = dir();
    // One line per segment: each done line of the sweep creates a segment.
    const options = { dir: where, maxBytes: 1 << 20, segmentBytes: 1 };
    const before = new FileQueue(options);
    for (const id of ['a', 'b', 'c']) {
      before.append({ id, expiresAt: Date.now() + 50, budgetMs: 500, payload: new TextEncoder().encode(id) });
    }
    before.close(); // seg-1..3
    const orphans: [string, Outcome][] = [];
    const forward = new StoreAndForward({
      queue: new FileQueue(options),
      ttlMs: 60_000,
      sweepMs: 20,
      sender: { isOnline: () => false, send: async () => {} },
      onOrphan: (id, outcome) => orphans.push([id, outcome]),
    });
    cleanups.push(() => forward.close());
    // a's done line goes to seg-4; b's cannot: a directory holds seg-5's name (EISDIR).
    const blocker = join(where, `seg-${'5'.padStart(12, '0')}.log`);
    mkdirSync(blocker);
    await until(() => forward.counts().diskErrors >= 2); // two sweeps failed, the process still up
    expect(orphans.map(([id, o]) => [id, o.kind === 'fallback' && o.code])).toEqual([
      ['a', 'DEADLINE_EXCEEDED'],
    ]);
    expect(forward.counts()).toMatchObject({ expired: 1, queued: 2 });
    rmdirSync(blocker);
    await until(() => orphans.length === 3);
    expect(orphans.map(([id]) => id)).toEqual(['a', 'b', 'c']);
    expect(forward.counts()).toMatchObject({ expired: 3, queued: 0 });
  });

  it('a reply whose done line cannot be written is counted, not thrown; the request stays stored and is sent again', async () => {
    const where = dir();
    const sent: string[] = [];
    const forward = new StoreAndForward({
      // One line per segment: the done line needs a new segment file.
      queue: new FileQueue({ dir: where, maxBytes: 1 << 20, segmentBytes: 1 }),
      ttlMs: 60_000,
      sweepMs: 20,
      sender: {
        isOnline: () => true,
        send: async (payload) => {
          sent.push(new TextDecoder().decode(payload));
        },
      },
      onOrphan: () => {},
    });
    cleanups.push(() => forward.close());
    const call = forward.enqueue('a', 500, new TextEncoder().encode('a'));
    await until(() => sent.length === 1);
    // a's done line cannot be written: a directory holds seg-2's name (EISDIR).
    const blocker = join(where, `seg-${'2'.padStart(12, '0')}.log`);
    mkdirSync(blocker);
    expect(forward.onReply(ok('a'))).toBe(true); // from the MQTT client's callback: must not throw
    expect(forward.counts()).toMatchObject({ diskErrors: 1, answered: 0, queued: 1 });
    rmdirSync(blocker);
    await until(() => sent.length === 2); // sent again by a later sweep
    forward.onReply(ok('a'));
    expect((await call).kind).toBe('reply');
    expect(forward.counts()).toMatchObject({ diskErrors: 1, answered: 1, queued: 0 });
  });

  describe('an onOrphan that throws', () => {
    /** Requests a, b, c stored by a closed queue (orphans after the reopen), expiring after `ttlMs`. */
    function replayed(where: string, ttlMs = 60_000) {
      const before = new FileQueue({ dir: where, maxBytes: 1 << 20 });
      for (const id of ['a', 'b', 'c']) {
        before.append({
          id,
          expiresAt: Date.now() + ttlMs,
          budgetMs: 500,
          payload: new TextEncoder().encode(id),
        });
      }
      before.close();
      const seen: string[] = [];
      const told: [string, string, string][] = [];
      let online = false;
      const sent: string[] = [];
      const forward = new StoreAndForward({
        queue: new FileQueue({ dir: where, maxBytes: 1 << 20 }),
        ttlMs: 60_000,
        sweepMs: 20,
        window: 1,
        sender: {
          isOnline: () => online,
          send: async (payload) => {
            sent.push(new TextDecoder().decode(payload));
          },
        },
        onOrphan: (id) => {
          seen.push(id);
          if (id === 'a') throw new Error(`application bug on ${id}`);
          if (id === 'b') throw 'not even an Error'; // the application may throw anything
        },
        onCallbackError: (id, error) => {
          told.push([id, error.code, error.message]);
          throw new Error('the reporting throws too');
        },
      });
      cleanups.push(() => forward.close());
      const goOnline = () => {
        online = true;
        forward.onStateChange('online');
      };
      return { forward, seen, told, sent, goOnline };
    }

    it('on the expiry timer: counted and told, never thrown, and the other expired requests still handed on', async () => {
      const { forward, seen, told } = replayed(dir(), 30);
      await until(() => forward.counts().expired === 3);
      expect(seen).toEqual(['a', 'b', 'c']);
      expect(told).toEqual([
        ['a', 'INTERNAL', 'application bug on a'],
        ['b', 'INTERNAL', 'not even an Error'],
      ]);
      expect(forward.counts()).toMatchObject({ expired: 3, callbackErrors: 2, queued: 0 });
    });

    it('on a reply: counted and told, onReply does not throw, and the next stored request is sent', () => {
      const { forward, seen, told, sent, goOnline } = replayed(dir());
      goOnline();
      expect(sent).toEqual(['a']); // a window of one
      expect(forward.onReply(ok('a'))).toBe(true);
      expect(sent).toEqual(['a', 'b']);
      expect(forward.onReply(ok('b'))).toBe(true);
      expect(forward.onReply(ok('c'))).toBe(true);
      expect(seen).toEqual(['a', 'b', 'c']);
      expect(told.map(([id, code]) => [id, code])).toEqual([
        ['a', 'INTERNAL'],
        ['b', 'INTERNAL'],
      ]);
      expect(forward.counts()).toMatchObject({ answered: 3, callbackErrors: 2, queued: 0 });
    });
  });
});

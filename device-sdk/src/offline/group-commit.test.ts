/**
 * The durable queue's group commit on a real file system: one fdatasync per turn's lines, off the
 * event loop; close() syncs what is left; a file with a sync pending or running is neither closed
 * nor deleted. The real node:fs syncs run, wrapped to count them or to hold them in flight.
 */
import { fdatasync, fdatasyncSync, fstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type DiskSync, NODE_DISK_SYNC } from './disk-sync.ts';
import { FileQueue, type StoredRequest } from './file-queue.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function freshDir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'fogline-commit-'));
  cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
  return join(parent, 'queue');
}

function open(dir: string, disk: DiskSync, segmentBytes = 1 << 20): FileQueue {
  const q = new FileQueue({ dir, maxBytes: 1 << 24, segmentBytes, disk });
  cleanups.push(() => q.close());
  return q;
}

const request = (id: string, size = 100): StoredRequest => ({
  id,
  expiresAt: Date.now() + 60_000,
  budgetMs: 500,
  payload: new Uint8Array(size).fill(7),
});

const segments = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('seg-'));
const turn = () => new Promise<void>((r) => setImmediate(r));

/** node:fs, counting its syncs; with `hold`, an async sync waits in `held` until `release()`. */
function realDisk(hold = false) {
  const counts = { async: 0, sync: 0 };
  const held: { fd: number; run(): void }[] = [];
  const disk: DiskSync = {
    ...NODE_DISK_SYNC,
    fdatasync(fd, callback) {
      counts.async++;
      if (hold) held.push({ fd, run: () => fdatasync(fd, callback) });
      else fdatasync(fd, callback);
    },
    fdatasyncSync(fd) {
      counts.sync++;
      fdatasyncSync(fd);
    },
  };
  /** Runs the held syncs (the real fdatasync: EBADF if their file was closed meanwhile). */
  const release = () => {
    for (const h of held.splice(0)) h.run();
  };
  return { disk, counts, held, release };
}

/** Whether `fd` is still open on the file at `path` (not closed, its number not reused). */
const openOn = (fd: number, path: string) => fstatSync(fd).ino === statSync(path).ino;

describe('FileQueue group commit', () => {
  it('syncs what one turn writes with one fdatasync off the event loop, the next turn with one more', async () => {
    const dir = freshDir();
    const { disk, counts } = realDisk();
    const q = open(dir, disk);
    for (let i = 0; i < 100; i++) q.append(request(`r${i}`));
    for (let i = 0; i < 50; i++) q.complete(`r${i}`, 'answered');
    expect(counts).toEqual({ async: 0, sync: 0 }); // nothing synced on the event loop
    await q.synced();
    expect(counts).toEqual({ async: 1, sync: 0 });
    for (let i = 100; i < 200; i++) q.append(request(`r${i}`));
    await q.synced();
    expect(counts).toEqual({ async: 2, sync: 0 });
    q.close();
    expect(counts.sync).toBe(0); // nothing left to sync at close
    expect(open(dir, realDisk().disk).size).toBe(150);
  });

  it('lines written while a sync runs wait for it, then go in one batch', async () => {
    const dir = freshDir();
    const { disk, counts, held, release } = realDisk(true);
    const q = open(dir, disk);
    q.append(request('a'));
    const first = q.synced();
    await turn();
    expect(held).toHaveLength(1);
    for (let i = 0; i < 20; i++) q.append(request(`b${i}`));
    const second = q.synced();
    expect(second).not.toBe(first);
    await turn();
    expect(counts.async).toBe(1); // the second batch waits for the first to end
    release();
    await first;
    expect(held).toHaveLength(1);
    release();
    await second;
    expect(counts).toEqual({ async: 2, sync: 0 });
  });

  it('close() syncs the lines not yet synced; a file with a sync in flight is closed after it', async () => {
    const dir = freshDir();
    const { disk, counts, held, release } = realDisk(true);
    const q = open(dir, disk);
    q.append(request('a'));
    await turn(); // a's sync starts, and is held in flight
    expect(held).toHaveLength(1);
    q.append(request('b'));
    q.append(request('c'));
    q.close();
    expect(counts.sync).toBe(1); // b and c synced by close, on the event loop
    const path = join(dir, segments(dir)[0]!);
    expect(openOn(held[0]!.fd, path)).toBe(true); // not closed under the running sync
    const done = q.synced();
    release();
    await done;
    const again = open(dir, realDisk().disk);
    expect([...again.pending()].map((r) => r.id)).toEqual(['a', 'b', 'c']);
  });

  it('rotates and deletes segments while a sync is in flight without closing or unlinking its file', async () => {
    const dir = freshDir();
    const { disk, held, release } = realDisk(true);
    const q = open(dir, disk, 4_096);
    q.append(request('first'));
    await turn();
    const [inFlight] = held;
    const firstPath = join(dir, segments(dir)[0]!);
    // ~250-byte lines: 60 of them fill two more segments while the first one's sync is held.
    for (let i = 0; i < 60; i++) q.append(request(`r${i}`));
    expect(segments(dir).length).toBeGreaterThanOrEqual(3);
    expect(openOn(inFlight!.fd, firstPath)).toBe(true);
    // Everything answered: the segments would all go, but not under a pending or running sync.
    q.complete('first', 'answered');
    for (let i = 0; i < 60; i++) q.complete(`r${i}`, 'answered');
    expect(q.size).toBe(0);
    expect(segments(dir).length).toBeGreaterThanOrEqual(3);
    expect(openOn(inFlight!.fd, firstPath)).toBe(true);
    // The held sync and the next batch run; every sync succeeds (no EBADF), then the files go.
    const all = q.synced();
    for (let i = 0; i < 200 && (held.length > 0 || segments(dir).length > 0); i++) {
      release();
      await new Promise((r) => setTimeout(r, 5));
    }
    await all;
    expect(segments(dir)).toEqual([]);
    expect(q.bytes).toBe(0);
  });
});

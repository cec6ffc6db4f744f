/**
 * What the durable queue makes durable besides its lines, on a real file system: the directory entry
 * of a segment created (before its first line counts as synced) or deleted, the directories it
 * creates, and at open what a crashed process left in the page cache. The real node:fs syncs run,
 * wrapped to record what they sync, to hold the directory's, or to fail them.
 */
import {
  appendFileSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsync,
  fsyncSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DiskSync } from './disk-sync.ts';
import { FileQueue, type StoredRequest } from './file-queue.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function freshDir(...under: string[]): string {
  const parent = mkdtempSync(join(tmpdir(), 'fogline-disk-'));
  cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
  return join(parent, ...under, 'queue');
}

function open(dir: string, disk?: DiskSync): FileQueue {
  const q = new FileQueue({ dir, maxBytes: 1 << 24, segmentBytes: 4_096, ...(disk && { disk }) });
  cleanups.push(() => q.close());
  return q;
}

const request = (id: string): StoredRequest => ({
  id,
  expiresAt: Date.now() + 60_000,
  budgetMs: 500,
  payload: new Uint8Array(100).fill(7),
});

interface Synced {
  ino: number;
  what: 'file' | 'dir';
  /** On libuv's pool (the async call) or on the event loop (the sync one). */
  on: 'pool' | 'loop';
}

const errno = (code: string, syscall: string) =>
  Object.assign(new Error(`${code}: ${syscall}`), { code, syscall }) as NodeJS.ErrnoException;

/** node:fs recording each sync; a directory's fsync held while `holdDirs`, or failed with `failDirs`. */
function recordingDisk() {
  const log: Synced[] = [];
  const state: { holdDirs: boolean; failDirs?: string; failFiles?: string } = { holdDirs: false };
  const held: (() => void)[] = [];
  const note = (fd: number, on: Synced['on']) => {
    const st = fstatSync(fd);
    log.push({ ino: st.ino, what: st.isDirectory() ? 'dir' : 'file', on });
  };
  const disk: DiskSync = {
    fdatasync(fd, callback) {
      note(fd, 'pool');
      fdatasync(fd, callback);
    },
    fdatasyncSync(fd) {
      note(fd, 'loop');
      if (state.failFiles !== undefined) throw errno(state.failFiles, 'fdatasync');
      fdatasyncSync(fd);
    },
    fsync(fd, callback) {
      note(fd, 'pool');
      const failure = state.failDirs;
      if (failure !== undefined) setImmediate(() => callback(errno(failure, 'fsync')));
      else if (state.holdDirs) held.push(() => fsync(fd, callback));
      else fsync(fd, callback);
    },
    fsyncSync(fd) {
      note(fd, 'loop');
      if (state.failDirs !== undefined) throw errno(state.failDirs, 'fsync');
      fsyncSync(fd);
    },
  };
  const release = () => {
    for (const run of held.splice(0)) run();
  };
  return { disk, log, state, held, release };
}

const segments = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('seg-'));
const ino = (path: string) => statSync(path).ino;

/** Waits until `done()` holds (polled every 5 ms), failing after 5 s. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done(); waited += 5) {
    if (waited > 5_000) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('FileQueue directory and start-up syncs', () => {
  it("a new segment's first put counts as synced only once the directory is synced, off the event loop", async () => {
    const dir = freshDir();
    const { disk, log, state, held, release } = recordingDisk();
    const q = open(dir, disk);
    log.length = 0;
    state.holdDirs = true;
    q.append(request('a'));
    let synced = false;
    const done = q.synced().then(() => {
      synced = true;
    });
    const segment = join(dir, segments(dir)[0]!);
    // The file's sync and the directory's run on the pool; the directory's is held.
    await until(() => held.length === 1 && log.length === 2);
    await new Promise((r) => setTimeout(r, 50)); // the file's sync has long ended
    expect(synced).toBe(false);
    expect(log).toEqual([
      { ino: ino(segment), what: 'file', on: 'pool' },
      { ino: ino(dir), what: 'dir', on: 'pool' },
    ]);
    release();
    await done;
    // Lines into the same segment need no directory sync.
    log.length = 0;
    q.append(request('b'));
    await q.synced();
    expect(log.map((s) => s.what)).toEqual(['file']);
  });

  it('deleting segments is followed by a sync of the directory', async () => {
    const dir = freshDir();
    const { disk, log } = recordingDisk();
    const q = open(dir, disk);
    q.append(request('a'));
    await q.synced();
    q.complete('a', 'answered');
    await q.synced(); // the done line; then the emptied segment is deleted
    expect(segments(dir)).toEqual([]);
    log.length = 0;
    await q.synced();
    expect(log).toEqual([{ ino: ino(dir), what: 'dir', on: 'pool' }]);
  });

  it('skips a directory sync the platform refuses (EISDIR, EPERM, EINVAL); any other error fails the put', async () => {
    for (const code of ['EISDIR', 'EPERM', 'EINVAL']) {
      const { disk, state } = recordingDisk();
      state.failDirs = code;
      const q = open(freshDir(), disk); // the open's directory sync refused too
      q.append(request('a'));
      await expect(q.synced()).resolves.toBeUndefined();
    }
    const dir = freshDir();
    const { disk, log, state } = recordingDisk();
    const q = open(dir, disk);
    state.failDirs = 'EIO';
    q.append(request('a'));
    await expect(q.synced()).rejects.toMatchObject({ code: 'EIO', syscall: 'fsync' });
    // The segment's entry is still owed: the next line in it waits for the directory's sync again.
    state.failDirs = undefined;
    log.length = 0;
    q.append(request('b'));
    await q.synced();
    expect(log.map((s) => s.what)).toEqual(['file', 'dir']);
  });

  it('syncs the directories it creates in their parents before the first put', () => {
    const dir = freshDir('a', 'b');
    const { disk, log } = recordingDisk();
    open(dir, disk);
    const parent = dirname(dirname(dirname(dir)));
    const dirs = [dir, dirname(dir), dirname(dirname(dir)), parent].map(ino);
    expect(log.filter((s) => s.what === 'dir' && s.on === 'loop').map((s) => s.ino)).toEqual(dirs);
  });

  it('at open, syncs the segments a crashed process left, and the directory, before replaying them', () => {
    const dir = freshDir();
    const first = open(dir);
    for (let i = 0; i < 60; i++) first.append(request(`r${i}`));
    first.close();
    // A crash after more lines reached the page cache only: the open must make them durable.
    const files = segments(dir).map((f) => join(dir, f));
    expect(files.length).toBeGreaterThan(2);
    appendFileSync(files.at(-1)!, `${JSON.stringify({ t: 'done', id: 'r0', why: 'answered' })}\n`);
    const { disk, log } = recordingDisk();
    const again = open(dir, disk);
    expect(log).toEqual([
      ...files.map((f) => ({ ino: ino(f), what: 'file', on: 'loop' })),
      { ino: ino(dir), what: 'dir', on: 'loop' },
    ]);
    expect(again.size).toBe(59);
  });

  it('an open whose sync fails throws the error and leaves the directory free', () => {
    const dir = freshDir();
    const first = open(dir);
    first.append(request('a'));
    first.close();
    const { disk, state } = recordingDisk();
    state.failFiles = 'EIO';
    expect(() => open(dir, disk)).toThrow(/EIO/);
    expect(open(dir).size).toBe(1);
  });
});

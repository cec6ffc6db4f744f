/**
 * The durable queue's files on a real file system: order, restarts, the byte cap, expiry, torn
 * writes, and a write the kernel cuts short (a file size limit, in a child process).
 */
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { FileQueue, type StoredRequest } from './file-queue.ts';

const dirs: string[] = [];
const queues: FileQueue[] = [];
afterEach(() => {
  for (const q of queues.splice(0)) q.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const parent = mkdtempSync(join(tmpdir(), 'fogline-queue-'));
  dirs.push(parent);
  return join(parent, 'queue');
}

function open(dir: string, maxBytes = 1 << 20, now: () => number = Date.now): FileQueue {
  const q = new FileQueue({ dir, maxBytes, segmentBytes: 4_096, now });
  queues.push(q);
  return q;
}

const request = (id: string, expiresAt = Date.now() + 60_000, size = 100): StoredRequest => ({
  id,
  expiresAt,
  budgetMs: 500,
  payload: new Uint8Array(size).fill(id.length),
});

const segments = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('seg-'));

describe('FileQueue', () => {
  it('keeps pending requests in order across a reopen, and not the completed ones; 0700 dir, 0600 files', () => {
    const dir = freshDir();
    const q = open(dir);
    for (let i = 0; i < 100; i++) q.append(request(`r${i}`));
    for (let i = 0; i < 100; i += 3) expect(q.complete(`r${i}`, 'answered')).toBe(true);
    expect(q.complete('r0', 'answered')).toBe(false);
    q.close();

    const again = open(dir);
    const ids = [...again.pending()].map((r) => r.id);
    expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`).filter((_, i) => i % 3 !== 0));
    expect([...again.pending()][0]!.payload).toEqual(request('r1').payload);
    expect(again.skippedLines).toBe(0);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(segments(dir).length).toBeGreaterThan(1);
    for (const f of segments(dir)) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('gives the disk space back once every request is answered (and its done line synced)', async () => {
    const dir = freshDir();
    const q = open(dir);
    for (let i = 0; i < 200; i++) q.append(request(`r${i}`));
    const full = segments(dir).length;
    const fullBytes = q.bytes;
    expect(full).toBeGreaterThan(3);
    // Answered oldest first: the segments go as soon as all their requests are done.
    for (let i = 0; i < 150; i++) q.complete(`r${i}`, 'answered');
    await q.synced();
    expect(segments(dir)).not.toContain(`seg-${'1'.padStart(12, '0')}.log`);
    expect(q.bytes).toBeLessThan(fullBytes);
    for (let i = 150; i < 200; i++) q.complete(`r${i}`, 'answered');
    await q.synced();
    expect(segments(dir)).toEqual([]);
    expect(q.bytes).toBe(0);
  });

  it('completes a request although a segment it frees cannot be deleted yet (deleted at a later sync)', async () => {
    const dir = freshDir();
    const q = new FileQueue({ dir, maxBytes: 1 << 20, segmentBytes: 1 }); // one line per segment
    queues.push(q);
    q.append(request('a'));
    q.append(request('b'));
    await q.synced();
    const first = join(dir, segments(dir)[0]!);
    rmSync(first);
    mkdirSync(join(first, 'in-the-way'), { recursive: true }); // its unlink fails: EISDIR
    expect(q.complete('a', 'answered')).toBe(true);
    expect([...q.pending()].map((r) => r.id)).toEqual(['b']);
    rmSync(first, { recursive: true });
    writeFileSync(first, '');
    q.complete('b', 'answered');
    await q.synced();
    expect(segments(dir)).toEqual([]);
  });

  it('refuses a request past maxBytes with RESOURCE_EXHAUSTED and keeps every stored one', () => {
    const dir = freshDir();
    const q = open(dir, 2_000);
    let stored = 0;
    let refusal: unknown;
    for (let i = 0; i < 100 && refusal === undefined; i++) {
      try {
        q.append(request(`r${i}`));
        stored++;
      } catch (err) {
        refusal = err;
      }
    }
    expect(refusal).toBeInstanceOf(FoglineError);
    expect(refusal).toMatchObject({ code: 'RESOURCE_EXHAUSTED' });
    expect((refusal as Error).message).toMatch(/durable queue .* is full/);
    expect(stored).toBeGreaterThan(0);
    expect(q.bytes).toBeLessThanOrEqual(2_000);
    q.close();
    expect(open(dir, 2_000).size).toBe(stored);
  });

  it('drops expired requests, durably, and their space comes back', async () => {
    const dir = freshDir();
    let now = 1_000_000;
    const q = open(dir, 1 << 20, () => now);
    for (let i = 0; i < 50; i++) q.append(request(`short${i}`, now + 1_000));
    q.append(request('long', now + 100_000));
    now += 2_000;
    expect(q.expire().expired.map((r) => r.id)).toHaveLength(50);
    expect([...q.pending()].map((r) => r.id)).toEqual(['long']);
    q.close();
    const again = open(dir, 1 << 20, () => now);
    expect([...again.pending()].map((r) => r.id)).toEqual(['long']);
    now += 200_000;
    expect(again.expire().expired.map((r) => r.id)).toEqual(['long']);
    await again.synced();
    expect(segments(dir)).toEqual([]);
  });

  it('skips a torn last line (a crash mid-write) and lines that are not records', () => {
    const dir = freshDir();
    const q = open(dir);
    q.append(request('a'));
    q.append(request('b'));
    q.close();
    const file = join(dir, segments(dir)[0]!);
    appendFileSync(file, '{"t":"put","id":"x","exp":1,"budget":5}\nnot json\n{"t":"done","id":"a"');
    const again = open(dir);
    expect([...again.pending()].map((r) => r.id)).toEqual(['a', 'b']);
    expect(again.skippedLines).toBe(3);
  });

  // RLIMIT_FSIZE: the write that crosses it is cut short, the next one fails with EFBIG (Node ignores SIGXFSZ).
  it.skipIf(process.platform === 'win32')(
    'a write cut short fails its append, and the torn line never swallows the next one',
    () => {
      const dir = freshDir();
      const child = `
        import { FileQueue } from ${JSON.stringify(new URL('./file-queue.ts', import.meta.url).href)};
        const q = new FileQueue({ dir: process.env.DIR, maxBytes: 1 << 24, segmentBytes: 1 << 20 });
        const request = (id) => ({ id, expiresAt: Date.now() + 60_000, budgetMs: 500, payload: new Uint8Array(1_000).fill(7) });
        const stored = [];
        const errors = [];
        for (let i = 0; i < 10; i++) {
          try {
            q.append(request('r' + i));
            stored.push('r' + i);
          } catch (err) {
            errors.push(err.code);
          }
        }
        await q.synced();
        q.close();
        console.log(JSON.stringify({ stored, errors }));
      `;
      // 8 KiB per file: the sixth ~1.4 KB line crosses it.
      const run = spawnSync(
        'bash',
        [
          '-c',
          'ulimit -f 8 && exec "$@"',
          'bash',
          process.execPath,
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          child,
        ],
        { env: { ...process.env, DIR: dir }, encoding: 'utf8' },
      );
      expect(run.stderr).toBe('');
      const { stored, errors } = JSON.parse(run.stdout) as { stored: string[]; errors: string[] };
      // One append fails; the lines after the torn one go to a new segment.
      expect(errors).toEqual(['EFBIG']);
      expect(stored).toHaveLength(9);
      const again = open(dir);
      expect([...again.pending()].map((r) => r.id)).toEqual(stored);
      expect(again.skippedLines).toBe(1); // the torn part
    },
  );

  it('is used by one open queue at a time; a lock left by a dead process is taken over', () => {
    const dir = freshDir();
    const q = open(dir);
    expect(() => open(dir)).toThrow(/in use by process/);
    q.close();
    appendFileSync(join(dir, 'queue.lock'), '999999999'); // no such process
    expect(open(dir).size).toBe(0);
  });

  it('refuses a directory that group or others can reach', () => {
    const dir = freshDir();
    open(dir).close();
    chmodSync(dir, 0o755);
    expect(() => open(dir)).toThrow(/accessible to group or others/);
  });

  describe('never follows a link (offline.dir, its segment files and its lock)', () => {
    /** A directory and a file elsewhere, where a link would send the queue's writes. */
    const elsewhere = () => {
      const place = join(freshDir(), '..', 'elsewhere');
      mkdirSync(place, { mode: 0o700 });
      writeFileSync(join(place, 'victim'), 'untouched\n', { mode: 0o600 });
      return place;
    };

    it('refuses a dir that is a symbolic link (INVALID_ARG), writing nothing where it points', () => {
      const target = elsewhere();
      const dir = freshDir();
      symlinkSync(target, dir);
      expect(() => open(dir)).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARG',
          message: expect.stringMatching(
            /queue \(offline\.dir\) is a symbolic link: give the directory itself/,
          ),
        }),
      );
      expect(readdirSync(target)).toEqual(['victim']);
    });

    it('refuses a segment file that is a link at open (INVALID_ARG naming it); the file it points to is untouched', () => {
      const target = elsewhere();
      const dir = freshDir();
      open(dir).close();
      symlinkSync(join(target, 'victim'), join(dir, 'seg-000000000001.log'));
      expect(() => open(dir)).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARG',
          message: expect.stringMatching(
            /seg-000000000001\.log is a symbolic link, not a segment the queue wrote/,
          ),
        }),
      );
      expect(readFileSync(join(target, 'victim'), 'utf8')).toBe('untouched\n');
    });

    it('refuses a queue.lock that is a link (INVALID_ARG naming it), never reading the pid it points to', () => {
      const target = elsewhere();
      writeFileSync(join(target, 'pid'), String(process.pid)); // a live process: the lock would hold
      const dir = freshDir();
      open(dir).close();
      symlinkSync(join(target, 'pid'), join(dir, 'queue.lock'));
      expect(() => open(dir)).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARG',
          message: expect.stringMatching(/queue\.lock is a symbolic link, not the lock the queue wrote/),
        }),
      );
      expect(readdirSync(target).sort()).toEqual(['pid', 'victim']);
    });

    it('does not write through a link planted where the next segment goes', () => {
      const target = elsewhere();
      const dir = freshDir();
      const q = open(dir);
      symlinkSync(join(target, 'victim'), join(dir, 'seg-000000000001.log'));
      expect(() => q.append(request('r1'))).toThrow(/EEXIST|ELOOP/);
      expect(q.size).toBe(0);
      expect(readFileSync(join(target, 'victim'), 'utf8')).toBe('untouched\n');
    });
  });
});

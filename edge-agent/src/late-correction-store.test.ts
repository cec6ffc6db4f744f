import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Correction } from '@fogline/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { type DegradedAnswer, LateCorrectionStore, MAX_QUEUED_WRITES } from './late-correction-store.ts';
import { makeDataDir } from './testing/agent-fixture.ts';

const edgeAnswer = {
  tier: 'edge',
  model: 'digits-mid-int8:1',
  outputKind: 'logits',
  outputs: [2, 1, 0],
} as const;
const cloudAnswer = {
  tier: 'cloud',
  model: 'digits-large:1',
  outputKind: 'logits',
  outputs: [0, 1, 2],
} as const;

function degraded(i: number, time: number, requestBytes = 100): DegradedAnswer {
  return {
    requestId: `req-${i}`,
    device: `dev-${i % 2}`,
    time,
    request: new Uint8Array(requestBytes).fill(i % 256),
    answer: edgeAnswer,
  };
}

const correctionOf = (a: DegradedAnswer, ttlMs: number): Correction => ({
  requestId: a.requestId,
  time: a.time,
  expires: a.time + ttlMs,
  old: a.answer,
  new: cloudAnswer,
});

let opened: LateCorrectionStore[] = [];
afterEach(async () => {
  for (const s of opened) await s.close();
  opened = [];
});

async function openStore(
  dir: string,
  o: { now: () => number; maxBytes?: number; ttlMs?: number; warn?: (message: string) => void },
) {
  const store = await LateCorrectionStore.open({
    dir: join(dir, 'late-corrections'),
    maxBytes: o.maxBytes ?? 1024 * 1024,
    ttlMs: o.ttlMs ?? 60_000,
    now: o.now,
    ...(o.warn && { warn: o.warn }),
  });
  opened.push(store);
  return store;
}

describe('late-correction store', () => {
  it('keeps waiting answers and corrections across a restart, in private files', async () => {
    const dir = await makeDataDir();
    const now = () => 1_000_000;
    const first = await openStore(dir, { now });
    const [a, b, c] = [degraded(1, 999_000), degraded(2, 999_500), degraded(3, 999_900)];
    for (const x of [a, b, c]) expect(await first.add(x)).toBe(true);
    expect(await first.add(a)).toBe(false); // one record per request id
    await first.settle(a, correctionOf(a, 60_000)); // the cloud answered another class
    await first.settle(b); // the cloud agreed
    await first.close();

    const again = await openStore(dir, { now });
    expect(again.waiting(10).map((x) => x.requestId)).toEqual(['req-3']);
    expect(Array.from(again.waiting(10)[0]!.request)).toEqual(Array.from(c.request));
    expect(again.correctionsOf('dev-1')).toMatchObject([{ requestId: 'req-1', new: cloudAnswer }]);
    expect(again.devicesWithCorrections()).toEqual(new Set(['dev-1']));
    const storeDir = join(dir, 'late-corrections');
    expect((await stat(storeDir)).mode & 0o777).toBe(0o700);
    for (const name of await readdir(storeDir)) {
      expect((await stat(join(storeDir, name))).mode & 0o777).toBe(0o600);
    }
  });

  it('keeps nothing past its TTL and reclaims the space, also across a restart', async () => {
    const dir = await makeDataDir();
    let t = 1_000_000;
    const now = () => t;
    const changed: string[] = [];
    const store = await LateCorrectionStore.open({
      dir: join(dir, 'late-corrections'),
      maxBytes: 1024 * 1024,
      ttlMs: 10_000,
      now,
      onCorrectionsChanged: (devices) => changed.push(...devices),
    });
    opened.push(store);
    const a = degraded(1, t);
    await store.add(a);
    await store.add(degraded(2, t));
    await store.settle(a, correctionOf(a, 10_000));
    expect(store.counts()).toMatchObject({ pending: 1, corrections: 1 });
    t += 10_001;
    expect(store.waiting(10)).toEqual([]);
    expect(store.correctionsOf('dev-1')).toEqual([]);
    await store.sweep();
    expect(store.counts()).toMatchObject({ pending: 0, corrections: 0, bytes: 0 });
    expect(changed).toEqual(['dev-1', 'dev-1']); // added, then expired
    expect(await readdir(join(dir, 'late-corrections'))).toEqual([]);
    expect(await store.add(degraded(3, t - 10_000))).toBe(false); // already past its TTL

    await store.add(degraded(4, t));
    await store.close();
    t += 20_000;
    const again = await openStore(dir, { now, ttlMs: 10_000 });
    expect(again.counts()).toMatchObject({ pending: 0, corrections: 0, bytes: 0 });
  });

  it('stays under its byte cap, dropping the oldest records first', async () => {
    const dir = await makeDataDir();
    const now = () => 1_000_000;
    const maxBytes = 16 * 1024;
    const store = await openStore(dir, { now, maxBytes });
    for (let i = 0; i < 200; i++) {
      await store.add(degraded(i, 999_000 + i, 300));
      expect(store.counts().bytes).toBeLessThanOrEqual(maxBytes);
    }
    const counts = store.counts();
    expect(counts.droppedFull).toBeGreaterThan(100);
    expect(counts.pending + counts.droppedFull).toBe(200);
    const waiting = store.waiting(1000).map((x) => x.requestId);
    expect(waiting.at(-1)).toBe('req-199'); // the newest are kept
    let onDisk = 0;
    for (const name of await readdir(join(dir, 'late-corrections'))) {
      onDisk += (await stat(join(dir, 'late-corrections', name))).size;
    }
    expect(onDisk).toBe(counts.bytes);
    expect(onDisk).toBeLessThanOrEqual(maxBytes);
    // A record larger than a quarter of the cap is never stored.
    expect(await store.add(degraded(999, 999_999, maxBytes))).toBe(false);
    expect(store.counts().droppedTooLarge).toBe(1);
  });

  it('keeps no more answers waiting for the disk than its bound: a burst beyond it is not kept, and counted', async () => {
    const dir = await makeDataDir();
    const store = await openStore(dir, { now: () => 1_000_000 });
    const burst = MAX_QUEUED_WRITES + 500;
    const kept = await Promise.all(
      Array.from({ length: burst }, (_, i) => store.add(degraded(i, 999_000 + i))),
    );
    const counts = store.counts();
    expect(counts.droppedBusy).toBeGreaterThanOrEqual(500);
    expect(kept.filter(Boolean).length).toBe(counts.pending);
    expect(counts.pending + counts.droppedBusy).toBe(burst);
  });
});

describe('late-correction store: never through a link', () => {
  /** A file elsewhere holding a degraded answer of a device the edge never saw: a link would feed it. */
  async function victim(): Promise<{ path: string; text: string }> {
    const place = await makeDataDir();
    const line = {
      k: 'a',
      id: 'planted',
      device: 'dev-x',
      time: 999_000,
      request: 'AA==',
      answer: edgeAnswer,
    };
    const text = `${JSON.stringify(line)}\n`;
    await writeFile(join(place, 'victim'), text, { mode: 0o600 });
    return { path: join(place, 'victim'), text };
  }

  it('skips a segment that is a link, or not a file, at open (a warning naming it), reading nothing through it and deleting nothing', async () => {
    const target = await victim();
    const dir = await makeDataDir();
    const storeDir = join(dir, 'late-corrections');
    await mkdir(storeDir, { mode: 0o700 });
    await symlink(target.path, join(storeDir, '000000000001.log'));
    await mkdir(join(storeDir, '000000000002.log'), { mode: 0o700 });
    const warnings: string[] = [];
    const store = await openStore(dir, { now: () => 1_000_000, warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      expect.stringMatching(/000000000001\.log is a symbolic link, not a segment the edge wrote: skipped/),
      expect.stringMatching(/000000000002\.log is not a file, not a segment the edge wrote: skipped/),
    ]);
    expect(store.waiting(10)).toEqual([]);
    expect(await readFile(target.path, 'utf8')).toBe(target.text);
    // Both left where they are; the next record goes to a segment after them.
    expect(await store.add(degraded(1, 999_500))).toBe(true);
    expect((await readdir(storeDir)).sort()).toEqual([
      '000000000001.log',
      '000000000002.log',
      '000000000003.log',
    ]);
  });

  it('does not write through a link planted where the next segment goes; the next record goes to a new one', async () => {
    const target = await victim();
    const dir = await makeDataDir();
    const store = await openStore(dir, { now: () => 1_000_000 });
    await symlink(target.path, join(dir, 'late-corrections', '000000000001.log'));
    expect(await store.add(degraded(1, 999_500))).toBe(false);
    expect(await readFile(target.path, 'utf8')).toBe(target.text);
    expect(await store.add(degraded(2, 999_600))).toBe(true);
    expect((await readdir(join(dir, 'late-corrections'))).sort()).toEqual([
      '000000000001.log',
      '000000000002.log',
    ]);
    expect(store.waiting(10).map((x) => x.requestId)).toEqual(['req-2']);
  });
});

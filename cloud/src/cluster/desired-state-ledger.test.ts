import { randomBytes } from 'node:crypto';
import { topics } from '@fogline/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { startOwnRedis } from '../../../test/support/own-redis.ts';
import { type DesiredStateMessage, DesiredStatePublisher } from '../fabric/desired-state-publisher.ts';
import { type Cluster, openCluster } from './cluster.ts';
import { RedisDesiredStateLedger } from './desired-state-ledger.ts';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const opened: Cluster[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

/**
 * Two replicas' publishers on one Redis, over one device table, publishing to one retained topic (the
 * broker cluster's shared retained store: every publish, in the order the broker got them).
 */
async function replicas(url = REDIS_URL, log?: (line: string) => void) {
  const prefix = `fogline:test:${process.pid}:${randomBytes(4).toString('hex')}:`;
  const devices: string[] = [];
  const retained: DesiredStateMessage[] = [];
  const clusters = await Promise.all([0, 1].map(() => openCluster({ url })));
  opened.push(...clusters);
  const pair = await Promise.all(
    clusters.map(async (cluster) => {
      return new DesiredStatePublisher({
        devices: {
          listByEdge: async () => {
            const ids = [...devices];
            await new Promise((r) => setTimeout(r, 2));
            return ids.map((id) => ({ id, tokenHash: `scrypt$${id}` }));
          },
        },
        publish: async (topic, payload) => {
          expect(topic).toBe(topics.desired('edge-1'));
          await new Promise((r) => setTimeout(r, 1));
          retained.push(JSON.parse(payload) as DesiredStateMessage);
        },
        models: () => ({ 'digits-mid': 1 }),
        ledger: new RedisDesiredStateLedger(cluster, { prefix, log }),
      });
    }),
  );
  const [a, b] = pair as [DesiredStatePublisher, DesiredStatePublisher];
  const { redis } = clusters[0]!;
  const clear = async () => {
    if (redis.status !== 'ready') return;
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  };
  cleanups.push(clear);
  return { a, b, devices, retained, clear, redis };
}

describe('RedisDesiredStateLedger', () => {
  it('gives one edge one increasing sequence from two replicas publishing at once, the latest state retained last', async () => {
    const { a, b, devices, retained } = await replicas();
    const runs: Promise<unknown>[] = [];
    for (let i = 1; i <= 12; i++) {
      devices.push(`dev-${i}`);
      runs.push((i % 2 === 0 ? a : b).publish('edge-1'));
    }
    await Promise.all(runs);
    const versions = retained.map((m) => m.version);
    expect(versions.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < versions.length; i++) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
    expect(retained.at(-1)!.devices).toHaveLength(12);
  });

  it('serves on replica B the state replica A published last', async () => {
    const { a, b, devices, retained } = await replicas();
    await b.publish('edge-1');
    devices.push('dev-1');
    await a.publish('edge-1');
    const served = await b.current('edge-1');
    expect(served?.message).toEqual(retained.at(-1));
    expect(served?.message.devices.map((d) => d.id)).toEqual(['dev-1']);
    expect(retained).toHaveLength(2); // served, not published again
  });

  it('keeps versions above the earlier ones after Redis lost its keys', async () => {
    const { a, b, retained, clear } = await replicas();
    for (let i = 0; i < 5; i++) await (i % 2 === 0 ? a : b).publish('edge-1');
    const before = retained.at(-1)!.version;
    await clear();
    await b.publish('edge-1');
    expect(retained.at(-1)!.version).toBeGreaterThan(before);
  });

  it('publishes on its own, numbered above what it saw, with one log line, while Redis is gone', async () => {
    const redis = await startOwnRedis();
    const lines: string[] = [];
    const { a, retained, redis: connection } = await replicas(redis.url, (line) => lines.push(line));
    await a.publish('edge-1');
    await redis.kill();
    await expect.poll(() => connection.status, { timeout: 10_000 }).not.toBe('ready');
    await a.publish('edge-1');
    await a.publish('edge-1');
    expect(retained).toHaveLength(3);
    expect(retained[1]!.version).toBeGreaterThan(retained[0]!.version);
    expect(retained[2]!.version).toBeGreaterThan(retained[1]!.version);
    expect(lines).toEqual([expect.stringMatching(/^desired state: .*without the cluster's lock/)]);
    await redis.kill();
  });
});

describe('RedisDesiredStateLedger lock', () => {
  it('leaves no lock behind when taking it timed out (a slow Redis), so the next publish does not wait for it to expire', async () => {
    const own = await startOwnRedis();
    cleanups.push(() => own.kill());
    const [a, b, admin] = await Promise.all([0, 1, 2].map(() => openCluster({ url: own.url })));
    opened.push(a!, b!, admin!);
    const options = { callMs: 200, lockMs: 8_000 };
    const ledgerA = new RedisDesiredStateLedger(a!, options);
    const ledgerB = new RedisDesiredStateLedger(b!, options);
    const published = (version: number) => {
      const message = { version, devices: [], models: {} };
      return Promise.resolve({ message, payload: JSON.stringify(message) });
    };
    // Writes stall for 600 ms: A's SET NX gets no answer in time, then runs once Redis goes on.
    await admin!.redis.client('PAUSE', 600, 'WRITE');
    await expect(ledgerA.exclusive('edge-1', 0, published)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await new Promise((r) => setTimeout(r, 700));
    const started = Date.now();
    await ledgerB.exclusive('edge-1', 0, published);
    expect(Date.now() - started).toBeLessThan(2_000); // not the 8 s of a lock nobody holds
  });

  /** Two ledgers on the machine's Redis (two replicas), a short lock, and runs whose order is logged. */
  async function slowPair(lockMs: number) {
    const prefix = `fogline:test:${process.pid}:${randomBytes(4).toString('hex')}:`;
    const [a, b] = await Promise.all([0, 1].map(() => openCluster({ url: REDIS_URL })));
    opened.push(a!, b!);
    cleanups.push(async () => {
      const keys = await a!.redis.keys(`${prefix}*`);
      if (keys.length > 0) await a!.redis.del(...keys);
    });
    const lines: string[] = [];
    const options = { prefix, lockMs, log: (line: string) => lines.push(line) };
    const events: string[] = [];
    const run = (name: string, ms: number, during?: () => Promise<void>) => async (version: number) => {
      events.push(`${name} ${version} start`);
      await new Promise((r) => setTimeout(r, ms));
      await during?.();
      events.push(`${name} ${version} end`);
      const message = { version, devices: [], models: { [name]: 1 } };
      return { message, payload: JSON.stringify(message) };
    };
    return {
      a: new RedisDesiredStateLedger(a!, options),
      b: new RedisDesiredStateLedger(b!, options),
      redis: a!.redis,
      lock: `${prefix}lock:edge-1`,
      events,
      lines,
      run,
    };
  }

  it('keeps its lock through a publish slower than lockMs: the other replica waits, the newest state is recorded', async () => {
    const { a, b, events, run } = await slowPair(300);
    const slow = a.exclusive('edge-1', 0, run('slow', 1_000));
    await new Promise((r) => setTimeout(r, 100));
    const fast = await b.exclusive('edge-1', 0, run('fast', 0));
    const first = await slow;
    expect(events.map((e) => e.replace(/ \d+ /, ' '))).toEqual([
      'slow start',
      'slow end',
      'fast start',
      'fast end',
    ]);
    expect(fast.message.version).toBeGreaterThan(first.message.version);
    expect((await a.latest('edge-1'))?.message).toEqual(fast.message);
  });

  it('never records over a newer state when its lock was lost mid-publish, and publishes again under the lock', async () => {
    const { a, b, redis, lock, events, lines, run } = await slowPair(10_000);
    let overtaking: Promise<unknown> | undefined;
    // The lock goes (as if it expired while the event loop stalled) and B publishes meanwhile.
    const lose = async () => {
      if (overtaking) return;
      await redis.del(lock);
      overtaking = b.exclusive('edge-1', 0, run('overtaking', 0));
      await overtaking;
    };
    const result = await a.exclusive('edge-1', 0, run('lost', 50, lose));
    const versions = events.filter((e) => e.endsWith('end')).map((e) => e.split(' '));
    expect(versions.map(([name]) => name)).toEqual(['overtaking', 'lost', 'lost']);
    const [[, overtaken], [, lost], [, again]] = versions.map(([n, v]) => [n, Number(v)] as const) as [
      readonly [string, number],
      readonly [string, number],
      readonly [string, number],
    ];
    expect(lost).toBeLessThan(overtaken);
    expect(again).toBeGreaterThan(overtaken);
    expect(result.message.version).toBe(again);
    expect((await b.latest('edge-1'))?.message).toEqual(result.message);
    expect(lines).toEqual([
      expect.stringMatching(/lost the publish lock of edge 'edge-1' mid-publish; publishing again/),
    ]);
  });
});

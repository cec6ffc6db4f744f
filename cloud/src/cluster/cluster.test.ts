import { FoglineError } from '@fogline/shared';
import { freePort } from '@fogline/shared/testing';
import { describe, expect, it } from 'vitest';
import { startOwnRedis } from '../../../test/support/own-redis.ts';
import { openCluster } from './cluster.ts';

const REDIS_URL = process.env.FOGLINE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('openCluster', () => {
  it('connects to Redis, shares one command connection, and closes every connection it opened', async () => {
    const cluster = await openCluster({ url: REDIS_URL });
    const key = `fogline:test:cluster:${process.pid}:${Date.now()}`;
    await cluster.redis.set(key, 'a', 'PX', 5_000);
    const second = cluster.duplicate();
    expect(await second.get(key)).toBe('a');
    await cluster.close();
    expect(cluster.redis.status).toBe('end');
    expect(second.status).toBe('end');
  });

  it('lets a command nobody awaits fail quietly once closed (libraries fire some at stop); an awaited one still fails', async () => {
    const unheard: unknown[] = [];
    const onUnhandled = (reason: unknown) => unheard.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const cluster = await openCluster({ url: REDIS_URL });
      const copy = cluster.duplicate({ keyPrefix: 'fogline:test:cluster:' });
      await cluster.close();
      void cluster.redis.rpush('wills', 'x'); // as aedes-persistence-redis does: never awaited
      void copy.lrem('wills', 0, 'x');
      await expect(cluster.redis.get('k')).rejects.toThrow('Connection is closed');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unheard).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('says when its connection is lost and back, and runs onReconnected, however short the loss', async () => {
    // A Redis restarted empty at once (a supervisor, a failover) and a connection the server closes
    // (CLIENT KILL, its idle timeout): ioredis reconnects at its first try, with no error to report.
    const own = await startOwnRedis();
    const lines: string[] = [];
    const cluster = await openCluster({ url: own.url, log: (line) => lines.push(line) });
    try {
      let back = 0;
      cluster.onReconnected(() => back++);
      const waitBack = async (count: number) => {
        for (let i = 0; i < 100 && back < count; i++) await new Promise((r) => setTimeout(r, 50));
        expect(back).toBe(count);
        expect(cluster.redis.status).toBe('ready');
      };
      await own.kill();
      await own.restart();
      await waitBack(1);
      const admin = await openCluster({ url: own.url });
      const id = await cluster.redis.client('ID');
      await admin.redis.client('KILL', 'ID', String(id));
      await admin.close();
      await waitBack(2);
      // Each loss: at least one line saying why, then one when it is back.
      const back2 = lines.map((l, i) => (l.endsWith('connected again') ? i : -1)).filter((i) => i >= 0);
      expect(back2).toHaveLength(2);
      expect(back2[0]).toBeGreaterThan(0);
      expect(back2[1]! - back2[0]!).toBeGreaterThan(1);
    } finally {
      await cluster.close();
      await own.kill();
    }
  });

  it('runs onReconnected once every connection is back, a subscriber lost alone included', async () => {
    // Redis drops a subscriber on its own (its pub/sub output buffer limit, CLIENT KILL TYPE pubsub):
    // what was published meanwhile never reached this replica, and must be published again.
    const own = await startOwnRedis();
    const cluster = await openCluster({ url: own.url });
    try {
      const subscriber = cluster.duplicate();
      const publisher = cluster.duplicate();
      await subscriber.subscribe('fogline:test:cluster:channel');
      const statuses: string[][] = [];
      cluster.onReconnected(() => statuses.push([cluster.redis, subscriber, publisher].map((r) => r.status)));
      const waitBack = async (count: number) => {
        for (let i = 0; i < 100 && statuses.length < count; i++) await new Promise((r) => setTimeout(r, 50));
        expect(statuses).toHaveLength(count);
      };
      const publisherId = await publisher.client('ID');
      await publisher.client('KILL', 'TYPE', 'pubsub');
      await waitBack(1);
      expect(await publisher.client('ID')).toBe(publisherId); // only the subscriber was dropped

      await own.kill();
      await new Promise((r) => setTimeout(r, 1_500));
      await own.restart();
      await waitBack(2);
      // The listeners ran once, with every connection up (what they publish goes out and comes in).
      await new Promise((r) => setTimeout(r, 2_500));
      expect(statuses).toEqual([
        ['ready', 'ready', 'ready'],
        ['ready', 'ready', 'ready'],
      ]);
    } finally {
      await cluster.close();
      await own.kill();
    }
  });

  it('refuses a URL that is not redis:// with INVALID_ARG, hiding its password', async () => {
    const err = await openCluster({ url: 'http://user:secret@127.0.0.1:6379' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoglineError);
    expect((err as FoglineError).code).toBe('INVALID_ARG');
    expect((err as Error).message).not.toContain('secret');
  });

  it('fails the start with UNAVAILABLE when nothing listens there', async () => {
    const port = await freePort();
    const err = await openCluster({ url: `redis://:secret@127.0.0.1:${port}`, connectTimeoutMs: 500 }).catch(
      (e: unknown) => e,
    );
    expect((err as FoglineError).code).toBe('UNAVAILABLE');
    expect((err as Error).message).toMatch(/cannot reach Redis at redis:\/\/.*127\.0\.0\.1/);
    expect((err as Error).message).not.toContain('secret');
  });
});

import { FoglineError } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../test/support/free-port.ts';
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

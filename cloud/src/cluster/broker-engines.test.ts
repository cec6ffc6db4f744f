import { describe, expect, it } from 'vitest';
import { startOwnRedis } from '../../../test/support/own-redis.ts';
import { eventually } from '../testing/index.ts';
import { brokerEngines, willsDue } from './broker-engines.ts';
import { openCluster } from './cluster.ts';

interface Bus {
  on(topic: string, listener: (packet: { topic: string }, done: () => void) => void, done?: () => void): void;
  emit(packet: { topic: string; payload: Buffer }, done?: (err?: Error) => void): void;
}

describe('brokerEngines on a Redis that goes away', () => {
  it('keeps the replica up while Redis is gone, and carries messages again once it is back', async () => {
    const redis = await startOwnRedis();
    const lines: string[] = [];
    const cluster = await openCluster({ url: redis.url, log: (line) => lines.push(line) });
    try {
      const { mq } = brokerEngines(cluster, {
        heartbeatMs: 1000,
        connectedElsewhere: () => false,
        stillListed: () => false,
        cutOff: () => false,
      });
      const bus = mq as unknown as Bus;
      const seen: string[] = [];
      await new Promise<void>((r) =>
        bus.on(
          'fogline/v1/x',
          (packet, done) => {
            seen.push(packet.topic);
            done();
          },
          r,
        ),
      );
      await redis.kill();
      // Every connection retries and fails: before the fix the bus's re-emitted 'error' ended the process.
      await eventually(() => lines.some((l) => l.includes('ECONNREFUSED')), 10_000);
      await new Promise((r) => setTimeout(r, 500));
      await redis.restart();
      await eventually(() => lines.some((l) => l.includes('connected again')), 10_000);
      await eventually(async () => {
        bus.emit({ topic: 'fogline/v1/x', payload: Buffer.from('back') });
        await new Promise((r) => setTimeout(r, 100));
        return seen.length > 0;
      }, 10_000);
      expect(seen[0]).toBe('fogline/v1/x');
    } finally {
      await cluster.close();
      await redis.kill();
    }
  });
});

describe('the wills of a dead replica', () => {
  const sweep = async (
    wills: { clientId: string; brokerId: string }[],
    where: { elsewhere: string[]; listed: string[]; cutOff?: boolean },
  ) => {
    const deleted: string[] = [];
    const due: string[] = [];
    const stream = async function* () {
      yield* wills;
    };
    const options = {
      connectedElsewhere: (id: string) => where.elsewhere.includes(id),
      stillListed: (id: string) => where.listed.includes(id),
      cutOff: () => where.cutOff === true,
    };
    const persistence = { delWill: async ({ id }: { id: string }) => deleted.push(id) };
    for await (const will of willsDue(stream(), 'me', options, persistence)) due.push(will.clientId);
    return { due, deleted };
  };

  it('sends those of clients connected nowhere, deletes those of clients back elsewhere, and keeps its own', async () => {
    const wills = [
      { clientId: 'gone', brokerId: 'dead' },
      { clientId: 'back', brokerId: 'dead' },
      { clientId: 'mine', brokerId: 'me' },
    ];
    expect(await sweep(wills, { elsewhere: ['back'], listed: [] })).toEqual({
      due: ['gone'],
      deleted: ['back'],
    });
  });

  it('lets a will wait while the replicas still list its client on the dead broker, and sends it once they do not', async () => {
    // Aedes and the replicas' own heartbeats see a replica die up to a heartbeat apart: its edge's will
    // must be neither sent nor deleted in between (deleting it lost the edge's `offline` for good).
    const wills = [{ clientId: 'gone', brokerId: 'dead' }];
    expect(await sweep(wills, { elsewhere: [], listed: ['gone'] })).toEqual({ due: [], deleted: [] });
    expect(await sweep(wills, { elsewhere: [], listed: [] })).toEqual({ due: ['gone'], deleted: [] });
  });

  it("keeps every other replica's wills, neither sent nor deleted, while this one was lately cut off from Redis", async () => {
    const wills = [
      { clientId: 'gone', brokerId: 'dead' },
      { clientId: 'back', brokerId: 'dead' },
    ];
    expect(await sweep(wills, { elsewhere: ['back'], listed: [], cutOff: true })).toEqual({
      due: [],
      deleted: [],
    });
    expect(await sweep(wills, { elsewhere: ['back'], listed: [] })).toEqual({
      due: ['gone'],
      deleted: ['back'],
    });
  });
});

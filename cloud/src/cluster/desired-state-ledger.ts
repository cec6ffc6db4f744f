/**
 * One desired-state sequence per edge, whichever replica publishes (docs/scale-out.md "Shared state";
 * the publisher: fabric/desired-state-publisher.ts). In Redis, per edge:
 *
 *   `<prefix>lock:<edge>`     who publishes now (SET NX PX, released by its holder only),
 *   `<prefix>version:<edge>`  the last version handed out,
 *   `<prefix>state:<edge>`    the last message published, for the route edges poll on any replica.
 *
 * Revoking an edge deletes its version and state (`forget`); the lock expires on its own.
 *
 * A publish takes the edge's lock, gets the next version, reads and publishes the state, records it,
 * and lets go: the broker's retained message, the version and the recorded state always move
 * together, so two replicas publishing for one edge cannot leave an older state retained last.
 * The lock expires after `lockMs` only if its holder dies: while a publish runs its holder renews it
 * every third of `lockMs`. Should it be lost all the same (the renewals got no answer, the event loop
 * stalled past `lockMs`), the state is recorded only while the lock is still the holder's (one
 * script: compare and set), never over a newer one another replica recorded meanwhile, and the
 * publish runs again under the lock, once, so that the message retained last is the newest.
 *
 * Versions: max(last + 1, Redis's clock in ms, the highest this replica has seen + 1). When Redis
 * lost its keys (a restart without persistence), the next version still starts from Redis's clock,
 * above every earlier one unless an edge was published to faster than once a millisecond just
 * before, and above whatever this replica published or served.
 *
 * Redis unreachable: the publish goes ahead without the lock, numbered by this replica's wall clock
 * (above anything it saw), with one log line; the broker, which shares Redis too, is the limit then.
 * A call that gets no answer within `callMs` (the connection not yet known down) fails the publish
 * (the next one carries the change) or the read (the route serves this replica's last).
 */
import { randomBytes } from 'node:crypto';
import { FoglineError } from '@fogline/shared';
import type { Redis } from 'ioredis';
import type {
  DesiredStateLedger,
  DesiredStateMessage,
  PublishedDesiredState,
} from '../fabric/desired-state-publisher.ts';
import type { Cluster } from './cluster.ts';
import { within } from './within.ts';

/** KEYS: version; ARGV: floor. */
const NEXT_VERSION = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = math.max(last + 1, now, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%d', v))
return string.format('%d', v)
`;

/** KEYS: lock; ARGV: holder, lockMs. Extends the lock only if it is still ours; 1 if it was. */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS: lock, state; ARGV: holder, payload. Records the state only while the lock is ours; 1 if so. */
const RECORD = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
`;

/** KEYS: lock; ARGV: holder. Deletes the lock only if it is still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

interface LedgerCommands {
  foglineNextVersion(key: string, floor: number): Promise<string>;
  foglineRenew(key: string, holder: string, lockMs: number): Promise<number>;
  foglineRecord(lock: string, state: string, holder: string, payload: string): Promise<number>;
  foglineRelease(key: string, holder: string): Promise<number>;
}

export interface RedisDesiredStateLedgerOptions {
  /** Default `fogline:desired:`. */
  readonly prefix?: string;
  /** How long a lock holds if its holder dies mid-publish (renewed every third of it while held). Default 10 s. */
  readonly lockMs?: number;
  /** How long a publish waits for the lock before it fails (the next publish carries the change). Default 15 s. */
  readonly waitMs?: number;
  /** How long one Redis call may take before the publish (or the read) fails. Default 1000 ms. */
  readonly callMs?: number;
  readonly log?: (line: string) => void;
}

export class RedisDesiredStateLedger implements DesiredStateLedger {
  readonly #redis: Redis & Partial<LedgerCommands>;
  readonly #prefix: string;
  readonly #lockMs: number;
  readonly #waitMs: number;
  readonly #callMs: number;
  readonly #log: (line: string) => void;
  readonly #holder = randomBytes(8).toString('hex');
  #failing = false;

  constructor(cluster: Pick<Cluster, 'redis'>, options: RedisDesiredStateLedgerOptions = {}) {
    this.#redis = cluster.redis;
    if (!this.#redis.foglineNextVersion) {
      this.#redis.defineCommand('foglineNextVersion', { numberOfKeys: 1, lua: NEXT_VERSION });
      this.#redis.defineCommand('foglineRenew', { numberOfKeys: 1, lua: RENEW });
      this.#redis.defineCommand('foglineRecord', { numberOfKeys: 2, lua: RECORD });
      this.#redis.defineCommand('foglineRelease', { numberOfKeys: 1, lua: RELEASE });
    }
    this.#prefix = options.prefix ?? 'fogline:desired:';
    this.#lockMs = options.lockMs ?? 10_000;
    this.#waitMs = options.waitMs ?? 15_000;
    this.#callMs = options.callMs ?? 1_000;
    this.#log = options.log ?? (() => {});
  }

  async exclusive(
    edgeId: string,
    floor: number,
    run: (version: number) => Promise<PublishedDesiredState>,
  ): Promise<PublishedDesiredState> {
    if (this.#redis.status !== 'ready') {
      this.#trouble(`redis is ${this.#redis.status}`);
      return run(Math.max(Date.now(), floor + 1));
    }
    const first = await this.#once(edgeId, floor, run);
    if (first.recorded) return first.published;
    // Overtaken: another replica may have published a newer state before this one's message.
    const again = await this.#once(edgeId, first.published.message.version, run);
    if (again.recorded) return again.published;
    throw new FoglineError(
      'UNAVAILABLE',
      `lost the publish lock of edge '${edgeId}' twice while publishing (over ${this.#lockMs} ms, or Redis not answering)`,
    );
  }

  /** One publish under the lock, renewed while it runs; `recorded` false when the lock was lost. */
  async #once(
    edgeId: string,
    floor: number,
    run: (version: number) => Promise<PublishedDesiredState>,
  ): Promise<{ published: PublishedDesiredState; recorded: boolean }> {
    const lock = `${this.#prefix}lock:${edgeId}`;
    await this.#lock(lock, edgeId);
    const renewal = setInterval(() => {
      this.#bounded(this.#redis.foglineRenew!(lock, this.#holder, this.#lockMs)).catch(() => {});
    }, this.#lockMs / 3);
    renewal.unref();
    try {
      const version = Number(
        await this.#redis.foglineNextVersion!(`${this.#prefix}version:${edgeId}`, floor + 1),
      );
      const published = await run(version);
      const state = `${this.#prefix}state:${edgeId}`;
      const recorded = (await this.#redis.foglineRecord!(lock, state, this.#holder, published.payload)) === 1;
      if (!recorded) {
        this.#log(`desired state: lost the publish lock of edge '${edgeId}' mid-publish; publishing again`);
      }
      this.#fine();
      return { published, recorded };
    } finally {
      clearInterval(renewal);
      await this.#bounded(this.#redis.foglineRelease!(lock, this.#holder)).catch(() => {});
    }
  }

  async latest(edgeId: string): Promise<PublishedDesiredState | undefined> {
    if (this.#redis.status !== 'ready') return undefined;
    const payload = await this.#bounded(this.#redis.get(`${this.#prefix}state:${edgeId}`));
    if (payload === null) return undefined;
    return { message: JSON.parse(payload) as DesiredStateMessage, payload };
  }

  async forget(edgeId: string): Promise<void> {
    await this.#bounded(
      this.#redis.del(`${this.#prefix}version:${edgeId}`, `${this.#prefix}state:${edgeId}`),
    );
  }

  async #lock(lock: string, edgeId: string): Promise<void> {
    const giveUpAt = Date.now() + this.#waitMs;
    for (let waitMs = 5; ; waitMs = Math.min(100, waitMs * 2)) {
      let taken: string | null;
      try {
        taken = await this.#bounded(this.#redis.set(lock, this.#holder, 'PX', this.#lockMs, 'NX'));
      } catch (err) {
        // No answer in time: the SET still runs once Redis goes on, and would leave a lock nobody
        // releases, every replica's next publish for this edge waiting `lockMs` for it. Released
        // right behind it (one connection: in order; only if it is ours).
        void this.#redis.foglineRelease!(lock, this.#holder).catch(() => {});
        throw err;
      }
      if (taken === 'OK') return;
      if (Date.now() >= giveUpAt) {
        throw new FoglineError(
          'UNAVAILABLE',
          `another replica held the publish lock of edge '${edgeId}' too long`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  #bounded<T>(call: Promise<T>): Promise<T> {
    return within(call, this.#callMs, 'desired state');
  }

  #trouble(why: string): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#log(
      `desired state: ${why}; publishing without the cluster's lock and sequence until Redis answers`,
    );
  }

  #fine(): void {
    if (this.#failing) this.#log('desired state: published through Redis again');
    this.#failing = false;
  }
}

/**
 * The cloud's link to the other replicas (docs/scale-out.md): one Redis, given by `--redis-url`
 * (`FOGLINE_REDIS_URL`). Without it the cloud is one process and keeps its shared state in memory;
 * with it, the parts that must agree across replicas (the broker's messages and sessions, token
 * buckets, edge presence) share it through this connection. PostgreSQL stays the system of record:
 * what Redis loses is rebuilt from the store.
 *
 * One home: every cluster-wide piece takes the `Cluster` CloudServer opens here, never a URL of its own.
 */
import { FoglineError } from '@fogline/shared';
import { Redis } from 'ioredis';
import { redactUrl } from '../store/postgres-connection.ts';

export const DEFAULT_KEY_PREFIX = 'fogline:';
/** The longest wait between two reconnection attempts of a connection to Redis. */
export const MAX_RECONNECT_DELAY_MS = 2_000;

export interface ClusterOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` (TLS). */
  readonly url: string;
  /**
   * Put before every key and channel this cloud uses (`--redis-key-prefix`), so that several clouds,
   * or tests, share one Redis without meeting. Default `fogline:`.
   */
  readonly keyPrefix?: string;
  /** How long the first connection may take before the start fails. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Connection trouble after the start (it reconnects on its own); one line each. */
  readonly log?: (line: string) => void;
}

export interface Cluster {
  /** The URL with its password hidden, for messages. */
  readonly where: string;
  /** What every key and channel of this cloud starts with (each piece adds its own part: `broker:`, ...). */
  readonly keyPrefix: string;
  /** The shared command connection (not for SUBSCRIBE: `duplicate()` it for that). */
  readonly redis: Redis;
  /**
   * A new connection to the same Redis with the same settings (subscribers, blocking commands); with
   * `keyPrefix`, ioredis puts it before every key of every command (for a library that names its
   * keys itself).
   */
  duplicate(options?: { keyPrefix?: string }): Redis;
  /**
   * Runs `listener` each time this cluster's connections are all up again after one was lost (not at
   * the first connect): what was published while Redis, or this replica's subscriber, was gone (desired
   * state, retained messages) is lost, and the listener publishes it again. Returns a function that
   * removes the listener.
   */
  onReconnected(listener: () => void): () => void;
  /**
   * Ms since this cluster's connections were last all up again after one was lost: 0 while one is
   * down, Infinity when none ever was. What this replica heard from the others through Redis is
   * stale until well after that.
   */
  msSinceWhole(): number;
  /** Closes every connection this cluster opened. Idempotent. */
  close(): Promise<void>;
}

/** Connects to Redis; fails with UNAVAILABLE (naming the redacted URL) when it cannot be reached. */
export async function openCluster(options: ClusterOptions): Promise<Cluster> {
  const where = redactUrl(options.url);
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new FoglineError('INVALID_ARG', `--redis-url: '${where}' is not a URL (redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new FoglineError('INVALID_ARG', `--redis-url: '${where}' must start with redis:// or rediss://`);
  }
  const log = options.log ?? (() => {});
  const opened: Redis[] = [];
  const reconnected = new Set<() => void>();
  // A connection lost and back: once every connection is up again (each retries on its own), the
  // listeners run. One connection alone counts too: a subscriber dropped by Redis (its pub/sub output
  // buffer limit, CLIENT KILL TYPE pubsub) missed what was published meanwhile.
  let lossPending = false;
  let wholeAt = Number.NEGATIVE_INFINITY;
  const lose = () => {
    lossPending = true;
  };
  const backAfterLoss = () => {
    lossPending = true;
    if (opened.some((r) => r.status !== 'ready' && r.status !== 'end')) return;
    lossPending = false;
    wholeAt = Date.now();
    for (const listener of reconnected) listener();
  };
  const connect = (keyPrefix?: string): Redis => {
    const redis = new Redis(options.url, {
      ...(keyPrefix !== undefined && { keyPrefix }),
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 5_000,
      // Commands wait for a reconnect instead of failing at once; each caller bounds its own wait.
      maxRetriesPerRequest: null,
      retryStrategy: (times) => Math.min(100 * times, MAX_RECONNECT_DELAY_MS),
    });
    // A command's promise is its caller's to handle, but the libraries on these connections
    // (aedes-persistence-redis, mqemitter-redis) send some without awaiting them: one still queued
    // when its connection closes (at stop, or a `disconnect()` while reconnecting) would reject
    // unheard, and an unhandled rejection ends the process. Callers that await still get the error.
    const send = redis.sendCommand.bind(redis);
    redis.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
      const reply = send(...args) as Promise<unknown>;
      reply.catch(() => {});
      return reply;
    };
    let lastError = '';
    let lost = false;
    redis.on('error', (err: Error) => {
      // ioredis repeats the same error on every retry: one line per change.
      if (err.message !== lastError) log(`redis ${where}: ${err.message}`);
      lastError = err.message;
      lost = true;
    });
    // A connection the server closed cleanly (a restart, CLIENT KILL, its idle timeout) raises no
    // error, and a reconnect that succeeds at its first try raises none either: the loss is known
    // from here, or a Redis restarted empty at once would never get what it lost published again.
    redis.on('reconnecting', () => {
      if (!lost) log(`redis ${where}: connection lost, reconnecting`);
      lost = true;
      lose();
    });
    redis.on('ready', () => {
      if (lost) log(`redis ${where}: connected again`);
      if (lost || lossPending) backAfterLoss();
      lost = false;
      lastError = '';
    });
    opened.push(redis);
    return redis;
  };
  const redis = connect();
  try {
    await redis.connect();
    await redis.ping();
  } catch (cause) {
    redis.disconnect();
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FoglineError('UNAVAILABLE', `cannot reach Redis at ${where}: ${reason}`, { cause });
  }
  let closing: Promise<void> | undefined;
  return {
    where,
    keyPrefix: options.keyPrefix ?? DEFAULT_KEY_PREFIX,
    redis,
    duplicate: (copyOptions = {}) => {
      const copy = connect(copyOptions.keyPrefix);
      void copy.connect().catch(() => {}); // errors are logged by the 'error' listener; it retries
      return copy;
    },
    onReconnected: (listener) => {
      reconnected.add(listener);
      return () => reconnected.delete(listener);
    },
    msSinceWhole: () => (lossPending ? 0 : Date.now() - wholeAt),
    close: () => {
      closing ??= Promise.all(opened.map(closeConnection)).then(() => {});
      return closing;
    },
  };
}

/**
 * QUIT, then wait for the socket to end. A connection that is not up is just dropped, without waiting:
 * one that is reconnecting has no socket, and ioredis then never emits 'end'.
 */
function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return Promise.resolve();
  if (redis.status !== 'ready') {
    redis.disconnect();
    return Promise.resolve();
  }
  const ended = new Promise<void>((resolve) => redis.once('end', () => resolve()));
  void redis.quit().catch(() => redis.disconnect());
  return ended;
}

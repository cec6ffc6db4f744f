/**
 * The cloud broker's engines on the shared Redis (docs/scale-out.md "The broker cluster"): the two
 * Aedes documents for a cluster of brokers. `mqemitter-redis` carries every message between the
 * replicas (Redis pub/sub, channels under `<keyPrefix>mq:`), so a subscriber on replica B gets what a
 * client published on A; `aedes-persistence-redis` keeps sessions, subscriptions, QoS 1 messages
 * queued for offline clients, retained messages and wills in Redis (keys under `<keyPrefix>broker:`),
 * so every replica serves the same retained state and a client id moves from A to B with its session.
 *
 * One thing is fogline's own: the wills Aedes publishes for a replica that stopped heartbeating. Aedes
 * publishes every will kept for a broker it has not heard from for three heartbeats, even when that
 * client has since connected again (to another replica, or, after a Redis outage, to this one): its
 * stale `offline` would then cover the live client's `online`. Wills of this broker and of clients
 * connected to this replica or to another live one are left out of that sweep (a stale one is
 * deleted). A will whose dead broker the replicas' own view (cluster-clients.ts, on its own
 * heartbeat) still lists as holding the client waits for the next sweep: the two views of one
 * replica's death can be a heartbeat apart, and taking the client for connected then deleted the
 * will of an edge whose replica had died, so it was never sent (its `online` stayed retained).
 * And no will of another replica is due while this one was itself cut off from Redis lately: back
 * from an outage that Redis survived with its data, it had heard from no replica for the outage's
 * length and took every live one for dead, sending the `offline` of every edge they held.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { BrokerOptions } from '@fogline/shared/broker';
import type { Redis } from 'ioredis';
import type { Cluster } from './cluster.ts';

/** Default time between two heartbeats of a replica's broker (Aedes `heartbeatInterval`). */
export const DEFAULT_REPLICA_HEARTBEAT_MS = 2_000;

export type AedesEngines = NonNullable<BrokerOptions['aedes']>;

export interface BrokerEnginesOptions {
  /** Aedes `heartbeatInterval`: a replica silent for 3 of these is dead and its clients' wills go out. */
  heartbeatMs: number;
  /**
   * Is `clientId` connected now to this replica or to a live replica other than `deadBroker` (whose
   * wills Aedes is sweeping)? Asked when wills are swept.
   */
  connectedElsewhere: (clientId: string, deadBroker: string) => boolean;
  /** Do the replicas' own heartbeats still list `clientId` on `deadBroker`? Its will then waits. */
  stillListed: (clientId: string, deadBroker: string) => boolean;
  /**
   * Was this replica itself cut off from Redis lately? It then heard from no replica, and a live one
   * looks dead to it: wills wait until it has had time to hear from them again. Default: never.
   */
  cutOff?: () => boolean;
}

interface Will {
  clientId: string;
  brokerId: string;
}

/** The part of aedes-persistence-redis' async persistence fogline touches (it ships no types). */
interface RedisPersistence {
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<unknown>;
  streamWill(brokers: Record<string, number>): AsyncIterable<Will>;
  delWill(client: { id: string; brokerId: string }): Promise<unknown>;
}

const require = createRequire(import.meta.url);
const { MQEmitterRedisPrefix } = require('mqemitter-redis') as {
  MQEmitterRedisPrefix: new (
    prefix: string,
    options: { subConn: Redis; pubConn: Redis; matchEmptyLevels: boolean },
  ) => { readonly state: EventEmitter };
};
// Aedes 1.x takes the promise-based persistence; the package's main export is the callback one.
const AsyncRedisPersistence = require('aedes-persistence-redis/asyncPersistence.js') as new (options: {
  conn: Redis;
}) => RedisPersistence;

/** Aedes `id`, `mq`, `persistence` and `heartbeatInterval` for one replica on `cluster`'s Redis. */
export function brokerEngines(cluster: Cluster, options: BrokerEnginesOptions): AedesEngines {
  const id = randomUUID();
  const mq = new MQEmitterRedisPrefix(`${cluster.keyPrefix}mq:`, {
    subConn: cluster.duplicate(),
    pubConn: cluster.duplicate(),
    matchEmptyLevels: true, // [MQTT-4.7.1-3], as Aedes' own in-memory mq
  });
  // mqemitter-redis re-emits each of its connections' errors (Redis gone: ECONNREFUSED on every retry)
  // as 'error' on `state`; unheard, that ended the process. The connections log them once (cluster.ts)
  // and reconnect by themselves: nothing more to do here.
  mq.state.on('error', () => {});
  const conn = cluster.duplicate({ keyPrefix: `${cluster.keyPrefix}broker:` });
  const persistence = new AsyncRedisPersistence({ conn });
  // Aedes pipes the retained messages of a SUBSCRIBE (`.pipe`): a stream, as its in-memory one gives.
  const retained = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(retained(patterns));
  const streamWill = persistence.streamWill.bind(persistence);
  persistence.streamWill = (brokers) => willsDue(streamWill(brokers), id, options, persistence);
  return { id, mq, persistence, heartbeatInterval: options.heartbeatMs };
}

/** Of the wills Aedes would send for dead brokers, those due now; stale ones are deleted (see the header). */
export async function* willsDue(
  wills: AsyncIterable<Will>,
  ownId: string,
  options: Pick<BrokerEnginesOptions, 'connectedElsewhere' | 'stillListed' | 'cutOff'>,
  persistence: Pick<RedisPersistence, 'delWill'>,
): AsyncIterable<Will> {
  for await (const will of wills) {
    if (will.brokerId === ownId) continue; // this broker is alive: its clients' wills are its own to send
    // Back from a Redis outage: every other replica is silent to this one, not dead. Kept for a later sweep.
    if (options.cutOff?.()) continue;
    if (options.connectedElsewhere(will.clientId, will.brokerId)) {
      // The client is back (elsewhere): what its dead broker kept for it will never be due.
      await persistence.delWill({ id: will.clientId, brokerId: will.brokerId }).catch(() => {});
      continue;
    }
    // Dead to Aedes, not yet to the replicas' view: kept, and looked at again on the next sweep.
    if (options.stillListed(will.clientId, will.brokerId)) continue;
    yield will;
  }
}

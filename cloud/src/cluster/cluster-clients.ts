/**
 * The cloud broker's clients across replicas (docs/scale-out.md "The broker cluster"): which edge is
 * connected to which replica, so an edge on A is online when asked on B, and revocations that reach
 * every replica, so revoking on B disconnects the client wherever it is connected and drops every
 * replica's cached answer for its token (an API key's too: HTTP callers are not broker clients, but
 * each replica caches their verified keys).
 *
 * The replicas talk on `$fogline/cluster/…` topics of the shared broker, followed in-process: the ACL
 * (core/fabric/acl.ts) lets no MQTT client publish or subscribe outside `fogline/v1/…`, and `#` never
 * matches a `$` topic [MQTT-4.7.2-1]. Each replica says when an edge connects to it or leaves it, and
 * every `heartbeatMs` lists all the edges it holds; a replica not heard from for three heartbeats is
 * dead and its edges are offline (their wills follow from the broker, cluster/broker-engines.ts). A
 * replica that starts says hello and every other answers at once with its list.
 */
import type { Identity } from '@fogline/shared';
import type { FoglineBroker } from '@fogline/shared/broker';
import type { AedesPublishPacket, Client } from 'aedes';
import { type BrokerClients, disconnectLocal } from '../fabric/broker-clients.ts';

const EDGES_TOPIC = '$fogline/cluster/edges';
const REVOKED_TOPIC = '$fogline/cluster/revoked';
/** A replica silent for this many heartbeats is taken for dead (as Aedes does for wills). */
export const MISSED_HEARTBEATS = 3;

type EdgesMessage =
  | { op: 'up' | 'down'; broker: string; edge: string }
  | { op: 'list'; broker: string; edges: string[] }
  | { op: 'hello'; broker: string };

/** What a replica can revoke: a broker identity, or an API key (HTTP, by its name). */
export type RevokedKind = Identity['kind'] | 'api-key';

interface RevokedMessage {
  broker: string;
  kind: RevokedKind;
  id: string;
}

export interface ClusterClientsOptions {
  /** The replica's broker, on the shared engines (broker-engines.ts). */
  broker: FoglineBroker;
  heartbeatMs: number;
  /** Another replica revoked `id`: forget its cached credentials (its client here is disconnected). */
  onRevoked: (kind: RevokedKind, id: string) => void;
  now?: () => number;
}

interface Replica {
  heardAt: number;
  edges: Set<string>;
}

export class ClusterClients implements BrokerClients {
  private readonly replicas = new Map<string, Replica>();
  private readonly edgeClients = new WeakSet<Client>();
  private readonly now: () => number;
  private readonly id: string;
  private timer?: NodeJS.Timeout;

  private constructor(private readonly options: ClusterClientsOptions) {
    this.now = options.now ?? Date.now;
    this.id = options.broker.aedes.id;
  }

  /** Follows the other replicas and says hello; resolves once both topics are followed. */
  static async join(options: ClusterClientsOptions): Promise<ClusterClients> {
    const clients = new ClusterClients(options);
    const { aedes } = options.broker;
    aedes.on('client', clients.onConnect);
    aedes.on('clientDisconnect', clients.onDisconnect);
    await subscribe(options.broker, EDGES_TOPIC, (m) => clients.onEdges(m));
    await subscribe(options.broker, REVOKED_TOPIC, (m) => clients.onRevokedMessage(m));
    clients.send(EDGES_TOPIC, { op: 'hello', broker: clients.id });
    clients.timer = setInterval(() => clients.heartbeat(), options.heartbeatMs);
    clients.timer.unref();
    return clients;
  }

  edgeConnected(id: string): boolean {
    return this.options.broker.identityOf(id)?.kind === 'edge' || this.edgeConnectedElsewhere(id);
  }

  /** Is the edge `id` connected to another replica (not `except`), alive? */
  edgeConnectedElsewhere(id: string, except?: string): boolean {
    for (const [broker, replica] of this.replicas) {
      if (broker !== except && this.alive(replica) && replica.edges.has(id)) return true;
    }
    return false;
  }

  /** Does replica `broker` count as alive here, holding the edge `id`? */
  listedOn(id: string, broker: string): boolean {
    const replica = this.replicas.get(broker);
    return replica !== undefined && this.alive(replica) && replica.edges.has(id);
  }

  private alive(replica: Replica): boolean {
    return replica.heardAt >= this.now() - MISSED_HEARTBEATS * this.options.heartbeatMs;
  }

  disconnect(id: string, kind: Identity['kind']): void {
    disconnectLocal(this.options.broker, id, kind);
    this.send(REVOKED_TOPIC, { broker: this.id, kind, id } satisfies RevokedMessage);
  }

  revokedApiKey(name: string): void {
    this.send(REVOKED_TOPIC, { broker: this.id, kind: 'api-key', id: name } satisfies RevokedMessage);
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    const { aedes } = this.options.broker;
    aedes.off('client', this.onConnect);
    aedes.off('clientDisconnect', this.onDisconnect);
  }

  private readonly onConnect = (client: Client) => {
    if (this.options.broker.identityOf(client.id)?.kind !== 'edge') return;
    this.edgeClients.add(client);
    this.send(EDGES_TOPIC, { op: 'up', broker: this.id, edge: client.id });
  };

  private readonly onDisconnect = (client: Client) => {
    if (!this.edgeClients.delete(client)) return;
    this.send(EDGES_TOPIC, { op: 'down', broker: this.id, edge: client.id });
  };

  private heartbeat(): void {
    const edges = this.options.broker
      .clients()
      .filter((c) => c.identity.kind === 'edge')
      .map((c) => c.clientId);
    this.send(EDGES_TOPIC, { op: 'list', broker: this.id, edges });
    // Forget replicas long gone (a restarted one comes back under a new id).
    const forgotten = this.now() - 10 * MISSED_HEARTBEATS * this.options.heartbeatMs;
    for (const [id, replica] of this.replicas) if (replica.heardAt < forgotten) this.replicas.delete(id);
  }

  private onEdges(raw: unknown): void {
    const message = readEdgesMessage(raw);
    if (!message || message.broker === this.id) return;
    if (message.op === 'hello') {
      this.heartbeat(); // the newcomer learns at once what this replica holds
      return;
    }
    let replica = this.replicas.get(message.broker);
    if (!replica) {
      replica = { heardAt: 0, edges: new Set() };
      this.replicas.set(message.broker, replica);
    }
    replica.heardAt = this.now();
    if (message.op === 'list') replica.edges = new Set(message.edges);
    else if (message.op === 'up') replica.edges.add(message.edge);
    else replica.edges.delete(message.edge);
  }

  private onRevokedMessage(raw: unknown): void {
    const message = readRevokedMessage(raw);
    if (!message || message.broker === this.id) return;
    this.options.onRevoked(message.kind, message.id);
    if (message.kind !== 'api-key') disconnectLocal(this.options.broker, message.id, message.kind);
  }

  private send(topic: string, message: EdgesMessage | RevokedMessage): void {
    // QoS 0: the replicas follow in-process, nothing is queued for them; a lost list is sent again.
    this.options.broker.publish(topic, JSON.stringify(message), { qos: 0 }).catch(() => {});
  }
}

function subscribe(broker: FoglineBroker, topic: string, handle: (message: unknown) => void): Promise<void> {
  const deliver = (packet: AedesPublishPacket, done: () => void) => {
    try {
      handle(JSON.parse(Buffer.from(packet.payload as Buffer).toString('utf8')));
    } catch {
      // Not JSON: not from a fogline replica; ignored.
    }
    done();
  };
  return new Promise((resolve) => broker.aedes.subscribe(topic, deliver, resolve));
}

const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;
const KINDS = new Set<unknown>(['edge', 'device', 'service', 'api-key']);

function readEdgesMessage(raw: unknown): EdgesMessage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  if (!isId(m.broker)) return null;
  if (m.op === 'hello') return { op: 'hello', broker: m.broker };
  if ((m.op === 'up' || m.op === 'down') && isId(m.edge)) return { op: m.op, broker: m.broker, edge: m.edge };
  if (m.op === 'list' && Array.isArray(m.edges) && m.edges.every(isId)) {
    return { op: 'list', broker: m.broker, edges: m.edges };
  }
  return null;
}

function readRevokedMessage(raw: unknown): RevokedMessage | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as Record<string, unknown>;
  if (!isId(m.broker) || !isId(m.id) || !KINDS.has(m.kind)) return null;
  return { broker: m.broker, kind: m.kind as RevokedKind, id: m.id };
}

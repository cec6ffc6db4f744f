/**
 * The cloud's side of the fabric (docs/design.md "Where the brokers are"): the upstream broker for edges
 * and for devices enrolled with no edge (MQTT over TCP on `--mqtt-port`, MQTT over WebSocket on the
 * HTTP server at `/mqtt`), the edge credentials shared with the HTTP infer route, the desired-state
 * publisher, the in-process subscriber that tracks edge status/telemetry/reported state, the
 * direct-device server that plays the edge of edgeless devices, and the identity service behind
 * `/api/edges` and `/api/devices`. CloudServer starts it after HTTP and closes it before the store.
 */
import type { Server as HttpServer } from 'node:http';
import {
  CLOUD_EDGE_ID,
  type DeploymentDirective,
  type DeploymentReport,
  FoglineError,
  fromUnknown,
  type RoutingDirective,
  TOPIC_PREFIX,
  topics,
} from '@fogline/shared';
import type { BrokerOptions, FoglineBroker } from '@fogline/shared/broker';
import { createBroker } from '@fogline/shared/broker';
import type { ServerTls } from '@fogline/shared/tls';
import type { AedesPublishPacket } from 'aedes';
import type { InferenceGuard } from '../auth/inference-guard.ts';
import type { BrokerCluster } from '../cluster/broker-cluster.ts';
import type { RevokedKind } from '../cluster/cluster-clients.ts';
import { applyMissedRevocations } from '../cluster/missed-revocations.ts';
import type { ReplicaState } from '../cluster/replica-state.ts';
import { within } from '../cluster/within.ts';
import { deviceCredentials } from '../identities/device-credentials.ts';
import { type EdgeCredentials, edgeCredentials } from '../identities/edge-credentials.ts';
import {
  type EdgeInferenceGuard,
  type EdgeRate,
  edgeInferenceGuard,
} from '../identities/edge-inference-guard.ts';
import { IdentityService } from '../identities/identity-service.ts';
import type { CloudMetrics } from '../metrics/cloud-metrics.ts';
import type { ModelInstance } from '../serving/model-instance.ts';
import type { Store } from '../store/index.ts';
import { type BrokerClients, localClients } from './broker-clients.ts';
import { cloudIdentityResolver, type ExtraIdentities } from './cloud-identity-resolver.ts';
import { DesiredStatePublisher } from './desired-state-publisher.ts';
import { DIRECT_DEVICE_DEFAULTS, DirectDeviceServer } from './direct-device-server.ts';
import { desiredFor, followDeployment, sameVersions } from './edge-models.ts';
import { EdgePresence } from './edge-presence.ts';

/** Broker limits `fogline cloud` exposes as flags (defaults: BROKER_DEFAULTS of the shared broker). */
export type CloudBrokerLimits = Partial<
  Pick<
    BrokerOptions,
    | 'publishRate'
    | 'connectRate'
    | 'maxClients'
    | 'maxConnections'
    | 'connectTimeoutMs'
    | 'authFailures'
    | 'maxPacketBytes'
    | 'drainTimeoutMs'
  >
>;

export interface CloudFabricOptions {
  store: Pick<Store, 'edges' | 'devices'>;
  /** The gateway's HTTP server: MQTT over WebSocket is attached to it at `/mqtt`. */
  httpServer: HttpServer;
  /** Interface of the MQTT/TCP listener. */
  host: string;
  /** MQTT over TCP; 0 = a free port; null = WebSocket only. */
  mqttPort: number | null;
  limits: CloudBrokerLimits;
  /** The MQTT/TCP listener is MQTTS with this certificate (the WebSocket follows `httpServer`). */
  tls?: ServerTls;
  edgeRate: EdgeRate;
  /** What the replicas share (cluster/replica-state.ts): limits, desired states; absent: in memory. */
  shared?: ReplicaState;
  /** Versions of the edge-tier models the cloud serves (edge-models.ts), for the desired state. */
  edgeModels: () => Record<string, number>;
  /** The policy directive each edge's desired state carries, if any (controller/). */
  edgeRouting?: (edgeId: string) => Promise<RoutingDirective | undefined>;
  /** The operator's audit rate for the edge's devices, if any (desired state `audit_rate`). */
  edgeAuditRate?: (edgeId: string) => Promise<number | undefined>;
  /** The deployment block each edge's desired state carries, if any (deployments/). */
  edgeDeployment?: (edgeId: string) => Promise<DeploymentDirective | undefined>;
  /** Each valid deployment report of an edge (MQTT reported state or the HTTP report route). */
  onDeploymentReport?: (edgeId: string, report: DeploymentReport) => void;
  /**
   * The served instance of the cloud model that answers edgeless devices (throws NOT_FOUND or
   * UNAVAILABLE when it is not served, which the device gets as an error reply).
   */
  cloudModel: () => ModelInstance;
  log: (message: string, err?: FoglineError | Error) => void;
  /** The playground's demo identity and its rate limits (web/demo-playground.ts); absent: no demo. */
  demo?: { identity: ExtraIdentities; admit: (deviceId: string) => void };
  /** This replica's part of a broker cluster on Redis (cluster/broker-cluster.ts); absent: one process. */
  cluster?: BrokerCluster;
}

/** `fogline/v1/edge/+/<leaf>`: edge-to-cloud topics the cloud follows ([MQTT-4.7.1-3]: `+` is a whole level). */
/** How long an admin call (enrolment, revocation) waits for the edge's desired state to be published. */
const ENROLMENT_PUBLISH_WAIT_MS = 5_000;
/** How long after Redis is back every edge's desired state is published again. */
const REPUBLISH_AFTER_REDIS_MS = 1_000;

const edgeTopic = (leaf: string) => `${TOPIC_PREFIX}/edge/+/${leaf}`;
const EDGE_ID_LEVEL = TOPIC_PREFIX.split('/').length + 1;

export class CloudFabric {
  private closing?: Promise<void>;
  private guard?: EdgeInferenceGuard;
  /** `guard` before it shares this replica's revocations: what another replica's revocation clears here. */
  private local?: EdgeInferenceGuard;

  private constructor(
    readonly broker: FoglineBroker,
    /** Bound MQTT/TCP port, or null when there is no TCP listener. */
    readonly mqttPort: number | null,
    readonly wsPath: string,
    readonly identities: IdentityService,
    readonly presence: EdgePresence,
    readonly publisher: DesiredStatePublisher,
    /** Answers devices connected straight to the cloud broker (`edge/cloud/infer`). */
    readonly directDevices: DirectDeviceServer,
    private readonly credentials: EdgeCredentials,
    private readonly clients: BrokerClients,
    private readonly options: CloudFabricOptions,
  ) {}

  static async start(options: CloudFabricOptions): Promise<CloudFabric> {
    const { store, log } = options;
    const credentials = edgeCredentials(store.edges);
    const devices = deviceCredentials(store.devices);
    const broker = await createBroker({
      ...options.limits,
      resolveIdentity: cloudIdentityResolver(credentials, devices, options.demo?.identity),
      host: options.host,
      mqttPort: options.mqttPort ?? undefined,
      httpServer: options.httpServer,
      tls: options.tls,
      authThrottle: options.shared?.authThrottle,
      logger: { warn: () => {} }, // refusals are counted in broker.stats()
      ...(options.cluster && { aedes: options.cluster.aedes, staleWill: options.cluster.staleWill }),
    });
    let fabric: CloudFabric | undefined;
    // A revoked edge's retained status (`online`, or the `offline` of an earlier will) goes: no
    // replica, started now or later, takes it for a live edge's; its will is not sent (broker.revoke).
    const forgetStatus = (id: string) =>
      within(
        broker.publish(topics.status(id), '', { qos: 1, retain: true }),
        ENROLMENT_PUBLISH_WAIT_MS,
        `clearing the status of edge '${id}'`,
      ).catch((err: Error) => log(`the retained status of revoked edge '${id}' is not cleared`, err));
    // Another replica revoked an identity: what this one caches for it goes too.
    const revokedElsewhere = (kind: RevokedKind, id: string) => {
      if (kind === 'api-key') fabric?.local?.revoked(id);
      if (kind === 'device') devices.forget(id);
      if (kind !== 'edge') return;
      credentials.forget(id);
      fabric?.guard?.revokedEdge(id);
      presence.forget(id);
      publisher.forgetLocal(id);
      // Cleared again by the replica that holds the edge's session (dropped right after this): a
      // status it took in before the revocation reached it does not outlive it.
      if (broker.identityOf(id)?.kind === 'edge') void forgetStatus(id);
    };
    // One process: its broker's clients; a replica: every replica's, once it has joined (below).
    let clients = localClients(broker);
    // The edge's desired models depend on what it reports serving and on its deployment
    // (edge-models.ts), and a report that changes them triggers a publish: the two refer to each
    // other, only ever at run time.
    const desiredModels = (id: string, deployment: DeploymentDirective | undefined) => {
      const reported = presence.view(id).reported;
      return followDeployment(
        desiredFor(options.edgeModels(), reported?.models),
        deployment,
        reported?.deployment,
      );
    };
    const publisher = new DesiredStatePublisher({
      devices: store.devices,
      publish: (topic, payload, opts) => broker.publish(topic, payload, opts),
      models: desiredModels,
      ...(options.edgeRouting && { routing: options.edgeRouting }),
      ...(options.edgeAuditRate && { auditRate: options.edgeAuditRate }),
      ...(options.edgeDeployment && { deployment: options.edgeDeployment }),
      onError: (edgeId, err) => log(`could not publish the desired state of edge '${edgeId}'`, err),
      ledger: options.shared?.desiredStates,
    });
    const presence = new EdgePresence({
      isConnected: (id) => clients.edgeConnected(id),
      markSeen: (id, at) => store.edges.markSeen(id, at),
      onError: (err) => log('could not record edge contact', err),
      onReported: (id, reported) => {
        if (reported.deployment) options.onDeploymentReport?.(id, reported.deployment);
        if (!sameVersions(publisher.publishedModels(id), publisher.desiredModels(id))) {
          void publisher.publish(id);
        }
      },
    });
    const identities = new IdentityService({
      store,
      edgeCredentials: credentials,
      deviceCredentials: devices,
      presence,
      // The change is stored first; an admin call waits for its publish, but not past
      // ENROLMENT_PUBLISH_WAIT_MS (a broker on a Redis that is down cannot publish): the publish then
      // completes when it can, and the edge's next poll or retained message carries the change.
      publishDesired: (id) =>
        within(publisher.publish(id), ENROLMENT_PUBLISH_WAIT_MS, `the desired state of edge '${id}'`).catch(
          (err: Error) => log(`the desired state of edge '${id}' is not published yet`, err),
        ),
      forgetDesired: (id) =>
        within(
          publisher.forget(id),
          ENROLMENT_PUBLISH_WAIT_MS,
          `clearing the desired state of edge '${id}'`,
        ).catch((err: Error) => log(`the desired state of revoked edge '${id}' is not cleared`, err)),
      forgetStatus,
      disconnect: (id, kind) => clients.disconnect(id, kind),
      revokedEdge: (id) => fabric?.guard?.revokedEdge(id),
      desiredModels: (id) => publisher.publishedModels(id),
    });
    const directDevices = new DirectDeviceServer({
      ...DIRECT_DEVICE_DEFAULTS,
      broker,
      resolveModel: options.cloudModel,
      ...(options.demo && { admit: options.demo.admit }),
      onPublishError: (err) => log('could not answer a device on the cloud broker', fromUnknown(err)),
    });
    directDevices.start();
    try {
      // The id was free before devices with no edge existed: an edge still holding it shares their topics.
      const squatter = (await store.edges.list()).find((e) => e.id === CLOUD_EDGE_ID && e.revokedAt === null);
      if (squatter) {
        log(
          `edge '${CLOUD_EDGE_ID}' was enrolled before that id was reserved for devices with no edge, whose ` +
            `topics it shares: revoke it (fogline edges revoke ${CLOUD_EDGE_ID}) and enrol it under another id`,
        );
      }
      if (options.cluster) clients = await options.cluster.join(broker, revokedElsewhere);
      // Desired state published while Redis was gone never reached the edges (the publish failed or
      // was lost with the connection): publish every edge's again once Redis is back. The broker's
      // own connections come back with the same backoff, hence the delay.
      options.cluster?.onReconnected(() => {
        // A revocation sent while this replica's subscriber was down never came: the store has it.
        applyMissedRevocations(store, broker, revokedElsewhere).catch((err: Error) =>
          log('could not check the revocations missed while Redis was gone', err),
        );
        setTimeout(() => {
          if (fabric?.closing) return;
          fabric?.publishAll().catch((err: Error) => log('could not publish the desired states again', err));
        }, REPUBLISH_AFTER_REDIS_MS).unref();
      });
      await follow(broker, edgeTopic('status'), (id, p, local) => presence.onStatus(id, p, local));
      await follow(broker, edgeTopic('telemetry'), (id, p, local) => presence.onTelemetry(id, p, local));
      await follow(broker, edgeTopic('reported'), (id, p, local) => presence.onReported(id, p, local));
      const addresses = await broker.listen();
      fabric = new CloudFabric(
        broker,
        addresses.mqttPort ?? null,
        addresses.wsPath,
        identities,
        presence,
        publisher,
        directDevices,
        credentials,
        clients,
        options,
      );
      return fabric;
    } catch (err) {
      directDevices.stop();
      await clients.close();
      await broker.close();
      throw listenError(err, options);
    }
  }

  /** Wraps the API-key guard so edges' own tokens are accepted on infer too (edge-inference-guard.ts). */
  inferenceGuard(keys: InferenceGuard, metrics?: CloudMetrics): EdgeInferenceGuard {
    const guard = edgeInferenceGuard({
      keys,
      edges: this.credentials,
      rate: this.options.edgeRate,
      buckets: this.options.shared?.edges,
      // One failed-authentication budget per address for HTTP and the cloud broker together.
      throttle: this.broker.authThrottle,
      metrics,
      onEdgeSeen: (id) => this.presence.seen(id),
    });
    this.local = guard;
    // A key revoked here is dropped from every replica's cache, not only this one's.
    this.guard = {
      ...guard,
      revoked: (name) => {
        guard.revoked(name);
        this.clients.revokedApiKey(name);
      },
    };
    return this.guard;
  }

  /** Publishes the desired state of every active edge (at start, once the models are loaded). */
  async publishAll(): Promise<void> {
    const edges = await this.options.store.edges.list();
    await this.publisher.publishAll(edges.filter((e) => e.revokedAt === null).map((e) => e.id));
  }

  /** Closes the broker (listeners, clients), then waits for publishes and store writes under way. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.publisher.idle();
      this.directDevices.stop();
      await this.clients.close();
      await this.broker.close();
      await this.presence.flush();
    })();
    return this.closing;
  }
}

/**
 * In-process subscription (bypasses the ACL: fogline's own code); hands over the edge id, the payload
 * and whether the message came in on this replica: in a cluster every replica gets every message, and
 * Aedes stamps each with the id of the broker it was published on.
 */
function follow(
  broker: FoglineBroker,
  filter: string,
  handle: (edgeId: string, payload: Uint8Array, local: boolean) => void,
): Promise<void> {
  const deliver = (packet: AedesPublishPacket, done: () => void) => {
    const edgeId = packet.topic.split('/')[EDGE_ID_LEVEL];
    const local = packet.brokerId === undefined || packet.brokerId === broker.aedes.id;
    if (edgeId !== undefined) handle(edgeId, packet.payload as Buffer, local);
    done();
  };
  return new Promise((resolve) => broker.aedes.subscribe(filter, deliver, resolve));
}

/** A taken or forbidden MQTT port, said in one line naming the flag (like the HTTP listener does). */
function listenError(err: unknown, options: CloudFabricOptions): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const port = options.mqttPort;
  if (code === 'EADDRINUSE') {
    return new FoglineError(
      'UNAVAILABLE',
      `port ${port} is already in use; choose another with --mqtt-port`,
      {
        cause: err,
      },
    );
  }
  if (code === 'EACCES') {
    return new FoglineError(
      'PERMISSION_DENIED',
      `not allowed to bind port ${port}; choose another with --mqtt-port`,
      {
        cause: err,
      },
    );
  }
  return err;
}

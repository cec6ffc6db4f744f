/**
 * The cloud tier process: owns the control-plane store, the served models, the metrics and the HTTP
 * listener, the cloud broker and identities (fabric/), and starts and stops them in order.
 *
 * start: bind the port (everything answers 503 until the app exists) → data dir + admin token →
 *        store → Redis (--redis-url, cluster/) → fabric (MQTT broker on --mqtt-port and /mqtt) → app
 *        (health answers, ready = 503) → load every model → publish every edge's desired state →
 *        write cloud.json → ready.
 * stop:  end the dashboard's live streams → close the broker (its WebSocket clients live on the HTTP server) → stop accepting → finish
 *        in-flight requests (bounded by shutdownTimeoutMs) → drain batchers and free workers →
 *        close the store.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { FoglineError } from '@fogline/shared';
import { ServerTls } from '@fogline/shared/tls';
import type { Hono } from 'hono';
import { AuditDriftCheck } from './audits/audit-drift-check.ts';
import { AuditIntake, type AuditIntakeCounts } from './audits/audit-intake.ts';
import { ensureAdminToken } from './auth/admin-token.ts';
import { type AuthGate, authGate } from './auth/auth-gate.ts';
import { apiKeyInferenceGuard, openInferenceGuard } from './auth/inference-guard.ts';
import { prepareCloudDataDir } from './backup/restore-swap.ts';
import { type CloudOptions, resolveCloudOptions } from './cloud-options.ts';
import type { CloudReady } from './cloud-ready.ts';
import { brokerCluster } from './cluster/broker-cluster.ts';
import { type Cluster, openCluster } from './cluster/cluster.ts';
import { replicaState } from './cluster/replica-state.ts';
import { ControllerService } from './controller/controller-service.ts';
import { DeploymentService } from './deployments/deployment-service.ts';
import { CloudFabric } from './fabric/cloud-fabric.ts';
import { edgeModelConfigs, edgeModelVersions } from './fabric/edge-models.ts';
import { type CloudAppDeps, createApp } from './http/app.ts';
import { startingResponse } from './http/error-response.ts';
import { type FetchApp, type HttpListener, listenHttp } from './http/http-listener.ts';
import { inferDirect } from './http/infer-direct.ts';
import { CloudMetrics } from './metrics/cloud-metrics.ts';
import { ModelStore } from './model-store/model-store.ts';
import { ModelServer } from './serving/model-server.ts';
import { ResponseCache } from './serving/response-cache.ts';
import { removeCloudState, writeCloudState } from './state-file.ts';
import { openStore, type Store } from './store/index.ts';
import { DEFAULT_DEMO_SETTINGS, DemoPlayground } from './web/demo-playground.ts';
import { LiveFeed } from './web/live-feed.ts';
import { ModelReports } from './web/model-reports.ts';
import { webBuilt } from './web/web-pages.ts';
import { WebSessions } from './web/web-sessions.ts';

export type { CloudReady } from './cloud-ready.ts';
export const SERVER_NAME = 'fogline';
export const SERVER_VERSION = '0.1.0';

export class CloudServer {
  readonly options: Readonly<CloudOptions>;
  private store?: Store;
  private listener?: HttpListener;
  private modelServer?: ModelServer;
  private appInstance?: Hono;
  /** What the app was built with: the direct infer path serves with it too. */
  private appDeps?: CloudAppDeps;
  private fabricInstance?: CloudFabric;
  /** Refuses a request with credentials from an address over its failed-authentication budget. */
  private authGate?: AuthGate;
  private auditIntake?: AuditIntake;
  private controllerInstance?: ControllerService;
  private deploymentService?: DeploymentService;
  private auditDriftCheck?: AuditDriftCheck;
  private liveFeed?: LiveFeed;
  private stopping?: Promise<void>;
  private tls?: ServerTls;
  private clusterInstance?: Cluster; // the Redis the replicas share (`--redis-url`); absent: one process

  constructor(
    options: Partial<CloudOptions> = {},
    private readonly log: (err: FoglineError) => void = () => {},
    /** Lines worth a look (how each model version was sized). */
    private readonly info: (line: string) => void = () => {},
  ) {
    this.options = resolveCloudOptions(options);
  }

  /** The node:http server (e.g. for WebSocket upgrades); only after start. */
  get httpServer(): Server {
    return started(this.listener).server;
  }

  /** The control-plane store; only after start. */
  get controlStore(): Store {
    return started(this.store);
  }

  get app(): Hono {
    return started(this.appInstance);
  }

  get models(): ModelServer {
    return started(this.modelServer);
  }

  /** The cloud broker, identities and edge presence; only after start. */
  get fabric(): CloudFabric {
    return started(this.fabricInstance);
  }

  /** Bound MQTT/TCP port of the cloud broker (null without a TCP listener); only after start. */
  get mqttPort(): number | null {
    return this.fabric.mqttPort;
  }

  /** `mqtt://host:port` (`mqtts://` with TLS) of the cloud broker, else its WebSocket URL. */
  get mqttUrl(): string {
    const port = this.fabric.mqttPort;
    const scheme = this.tls ? 'mqtts' : 'mqtt';
    return port === null ? this.wsUrl : `${scheme}://${urlHost(this.options.host)}:${port}`;
  }

  private get wsUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}${this.fabric.wsPath}`;
  }

  get httpPort(): number {
    return started(this.listener).port;
  }

  /** HTTP requests being handled right now. */
  get inFlightRequests(): number {
    return this.listener?.inFlight ?? 0;
  }

  /** The Redis the replicas share (cluster/cluster.ts); undefined without `--redis-url` or before start. */
  get cluster(): Cluster | undefined {
    return this.clusterInstance;
  }

  /** The field-record windows and the controller (docs/field-accuracy.md); only after start. */
  get controller(): ControllerService {
    return started(this.controllerInstance);
  }

  /** Audits from edges: queued, dropped, stored, failed (docs/cloud.md "Audits"). */
  get auditCounts(): AuditIntakeCounts | undefined {
    return this.auditIntake?.counts();
  }

  /** The cloud's own drift checks on the audit records (docs/field-accuracy.md); only after start. */
  get auditDrift(): AuditDriftCheck {
    return started(this.auditDriftCheck);
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://${urlHost(this.options.host)}:${this.httpPort}`;
  }

  /**
   * Re-reads the certificate and key (SIGHUP): new handshakes on HTTPS, MQTTS and WSS get them,
   * connections already open go on. A bad pair is refused (INVALID_ARG) and the old one stays.
   */
  async reloadTls(): Promise<void> {
    const noTls = 'the cloud serves no TLS (start it with --tls-cert and --tls-key)';
    if (!this.tls) throw new FoglineError('INVALID_ARG', noTls);
    await this.tls.reload();
  }

  async start(): Promise<CloudReady> {
    const o = this.options;
    try {
      // Bind first: a taken port fails fast, and health answers (503) while the rest starts.
      const app: FetchApp = {
        fetch: (req, env) => this.appInstance?.fetch(req, env) ?? startingResponse(),
      };
      // A certificate that cannot be used fails the start before anything binds.
      if (o.tls) this.tls = await ServerTls.load(o.tls);
      this.listener = await listenHttp(app, {
        port: o.httpPort,
        host: o.host,
        flag: '--http-port',
        tls: this.tls,
        limits: o.http,
        gate: (req) => this.authGate?.(req),
        direct: inferDirect(() => this.appDeps),
      });
      await prepareCloudDataDir(o.dataDir, { insecure: o.insecureDataDir, warn: this.info });
      const adminToken = await ensureAdminToken(o.dataDir);
      this.store = await openStore({ dataDir: o.dataDir, databaseUrl: o.databaseUrl });
      const { redisUrl, redisKeyPrefix: keyPrefix } = o;
      if (redisUrl) this.clusterInstance = await openCluster({ url: redisUrl, keyPrefix, log: this.info });
      const metrics = new CloudMetrics();
      const store = this.store;
      const shared = replicaState(this.clusterInstance, o.mqtt.authFailures, this.info);
      const playground = o.demo ? new DemoPlayground(DEFAULT_DEMO_SETTINGS, o.modelsDir) : undefined;
      this.fabricInstance = await CloudFabric.start({
        store,
        httpServer: this.listener.server,
        host: o.host,
        mqttPort: o.mqttPort,
        limits: o.mqtt,
        tls: this.tls,
        edgeRate: o.edgeRate,
        shared,
        edgeModels: () => (this.modelServer ? edgeModelVersions(this.modelServer) : {}),
        edgeRouting: async (id) => (await store.edgePolicies.get(id))?.directive ?? undefined,
        edgeAuditRate: async (id) => (await store.edgePolicies.get(id))?.auditRate ?? undefined,
        edgeDeployment: async (id) => this.deploymentService?.directive(id),
        onDeploymentReport: (id, report) => void this.deploymentService?.report(id, report),
        cloudModel: () => {
          if (!this.modelServer) throw new FoglineError('UNAVAILABLE', 'the cloud is starting');
          return this.modelServer.resolve(o.cloudModel);
        },
        log: (message, err) =>
          this.log(new FoglineError('INTERNAL', `${message}: ${err?.message ?? ''}`, { cause: err })),
        ...(playground && {
          demo: {
            identity: (id, token) => playground.identity(id, token),
            admit: (id) => playground.admit(id),
          },
        }),
        ...(this.clusterInstance && {
          cluster: brokerCluster(this.clusterInstance, { heartbeatMs: o.replicaHeartbeatMs }),
        }),
      });
      const fabric = this.fabricInstance;
      const deployments = new DeploymentService({
        store,
        publish: (id) => fabric.publisher.publish(id),
        servedVersion: (id, model) => fabric.presence.view(id).reported?.models?.[model],
        reportedDeployment: (id) => fabric.presence.view(id).reported?.deployment,
        offline: (id) => fabric.presence.view(id).status === 'offline',
        log: this.info,
      });
      this.deploymentService = deployments;
      this.authGate = authGate(this.listener.server, fabric.broker.authThrottle, metrics);
      this.liveFeed = new LiveFeed({
        edges: () => fabric.identities.listEdges(),
        direct: () => fabric.directDevices.stats,
        rateLimited: async () => (await metrics.rateLimitedTotal()) + (playground?.refused ?? 0),
        // The controller starts below; a snapshot is only taken once the server serves.
        field: (edgeId) => this.controller.field(edgeId),
        policyChanges: (edgeId, limit) => store.edgePolicies.changes(edgeId, limit),
      });
      metrics.watchDirectDevices(() => fabric.directDevices.stats);
      metrics.watchAudits(() => this.auditIntake?.counts());
      const responseCache = new ResponseCache(o.responseCacheMb);
      metrics.watchResponseCache(responseCache);
      this.modelServer = new ModelServer(
        o.modelsDir,
        o.serving,
        {
          onInstanceReady: (instance) => {
            metrics.watch(instance);
            this.info(instance.sizingLine);
          },
          onInstanceRetired: (instance) => metrics.unwatch(instance),
        },
        responseCache,
      );
      const guard = fabric.inferenceGuard(
        o.auth ? apiKeyInferenceGuard(store.apiKeys, metrics, shared.apiKeys) : openInferenceGuard(),
        metrics,
      );
      const audits = new AuditIntake({
        records: store.auditRecords,
        resolveModel: (name) => {
          if (!this.modelServer) throw new FoglineError('UNAVAILABLE', 'the cloud is starting');
          return this.modelServer.resolve(name);
        },
        settings: o.audits,
        log: this.log,
        onShadowPair: (id, pair) => void deployments.pair(id, pair),
        // An alarmed edge's records go to the controller at once, not at its next round.
        onStored: (id) => this.controllerInstance?.nudge(id),
      });
      this.auditIntake = audits;
      const controller = new ControllerService({
        store,
        presence: (id) => fabric.presence.view(id),
        publish: (id) => fabric.publisher.publish(id),
        settings: o.controller,
        holder: `cloud-${process.pid}-${randomBytes(4).toString('hex')}`,
        clock: { now: () => Date.now() },
        log: (line) => this.info(line),
        rolloutHolds: (id) => deployments.holds(id),
      });
      this.controllerInstance = controller;
      metrics.watchField(controller);
      const models = this.modelServer;
      const auditDrift = new AuditDriftCheck({
        // The controller's window: the records are read from the store once, by the controller.
        records: (edgeId) => controller.windows.records(edgeId).map((r) => r.scored),
        edges: async () => (await store.edges.list()).filter((e) => e.revokedAt === null).map((e) => e.id),
        edgeModels: () => edgeModelConfigs(models),
        warn: this.info,
      });
      this.auditDriftCheck = auditDrift;
      metrics.watchAuditDrift(auditDrift);
      this.appDeps = {
        models: this.modelServer,
        guard,
        adminToken: adminToken.token,
        apiKeys: this.store.apiKeys,
        identities: fabric.identities,
        edgeDesired: {
          authenticateEdge: (authorization, source) => guard.authenticateEdge(authorization, source),
          current: (edgeId) => fabric.publisher.current(edgeId),
        },
        audits: {
          authenticateEdge: (authorization, source) => guard.authenticateEdge(authorization, source),
          intake: audits,
          records: store.auditRecords,
          drift: (edgeId) => auditDrift.view(edgeId),
        },
        policies: {
          store,
          controller,
          publish: (id) => fabric.publisher.publish(id),
          presence: (id) => fabric.presence.view(id),
        },
        modelStore: {
          store: new ModelStore(o.dataDir, store.modelVersions, o.maxModelBytes),
          authenticateEdge: (authorization, source) => guard.authenticateEdge(authorization, source),
        },
        deployments: {
          service: deployments,
          list: (model) => store.deployments.list(model === undefined ? {} : { model }),
          authenticateEdge: (authorization) => guard.authenticateEdge(authorization),
          report: (id, reported) => fabric.presence.report(id, reported),
        },
        metrics,
        web: {
          sessions: new WebSessions(),
          live: this.liveFeed,
          reports: new ModelReports(o.modelsDir),
          ...(playground && { demo: { playground, wsPath: fabric.wsPath } }),
        },
        maxBodyBytes: o.maxBodyBytes,
        serverName: SERVER_NAME,
        serverVersion: SERVER_VERSION,
        log: this.log,
        ...(o.logRequests && { logRequest: this.info }),
      };
      this.appInstance = createApp(this.appDeps);
      await this.modelServer.loadAll();
      if (this.stopping) throw new FoglineError('UNAVAILABLE', 'the server was stopped while starting');
      await fabric.publishAll();
      controller.start();
      deployments.start();
      const { httpPort, url } = this;
      await writeCloudState(o.dataDir, { url, httpPort, mqttPort: fabric.mqttPort, pid: process.pid });
      return {
        http: { port: this.httpPort, host: o.host, url: this.url },
        mqtt: {
          port: fabric.mqttPort,
          url: fabric.mqttPort === null ? null : this.mqttUrl,
          wsUrl: this.wsUrl,
        },
        adminToken,
        auth: o.auth,
        models: (await this.modelServer.index()).filter((m) => m.state === 'READY').map((m) => m.name),
        web: {
          dashboard: `${this.url}/`,
          playground: o.demo ? `${this.url}/playground` : null,
          built: webBuilt(),
        },
      };
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Graceful stop; safe to call more than once and after a failed start. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    await this.controllerInstance?.stop();
    await this.deploymentService?.stop();
    this.liveFeed?.close();
    await this.fabricInstance?.close();
    await this.listener?.close(this.options.shutdownTimeoutMs);
    this.auditDriftCheck?.close();
    await this.auditIntake?.close();
    await this.modelServer?.close();
    await this.store?.close();
    await this.clusterInstance?.close();
    if (this.listener) await removeCloudState(this.options.dataDir);
  }
}

/** A part of the server that exists only between start and stop. */
function started<T>(part: T | undefined): T {
  if (!part) throw new Error('CloudServer not started');
  return part;
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The cloud tier process: owns the control-plane store, the served models, the metrics and the HTTP
 * listener, the cloud broker and identities (fabric/), and starts and stops them in order.
 *
 * start: bind the port (everything answers 503 until the app exists) → data dir + admin token →
 *        store → fabric (MQTT broker on --mqtt-port and /mqtt) → app (health answers, ready = 503)
 *        → load every model → publish every edge's desired state → write cloud.json → ready.
 * stop:  close the broker (its WebSocket clients live on the HTTP server) → stop accepting → finish
 *        in-flight requests (bounded by shutdownTimeoutMs) → drain batchers and free workers →
 *        close the store.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import type { Hono } from 'hono';
import { AuditDriftCheck } from './audits/audit-drift-check.ts';
import { AuditIntake, type AuditIntakeCounts } from './audits/audit-intake.ts';
import { type AdminToken, ensureAdminToken } from './auth/admin-token.ts';
import { apiKeyInferenceGuard, openInferenceGuard } from './auth/inference-guard.ts';
import { type CloudOptions, resolveCloudOptions } from './cloud-options.ts';
import { ControllerService } from './controller/controller-service.ts';
import { CloudFabric } from './fabric/cloud-fabric.ts';
import { edgeModelVersions } from './fabric/edge-models.ts';
import { createApp } from './http/app.ts';
import { errorResponse } from './http/error-response.ts';
import { type FetchApp, type HttpListener, listenHttp } from './http/http-listener.ts';
import { CloudMetrics } from './metrics/cloud-metrics.ts';
import { ModelServer } from './serving/model-server.ts';
import { ResponseCache } from './serving/response-cache.ts';
import { openStore, type Store } from './store/index.ts';

export const CLOUD_STATE_FILE = 'cloud.json';
export const SERVER_NAME = 'fogline';
export const SERVER_VERSION = '0.1.0';

/** What `<dataDir>/cloud.json` holds, so that `fogline keys` finds the running server. */
export interface CloudState {
  url: string;
  httpPort: number;
  mqttPort: number | null;
  pid: number;
}

export interface CloudReady {
  http: { port: number; host: string; url: string };
  /** Cloud broker: bound MQTT/TCP port (null: none) and its URL; MQTT over WebSocket at `wsUrl`. */
  mqtt: { port: number | null; url: string | null; wsUrl: string };
  adminToken: AdminToken;
  auth: boolean;
  models: string[];
}

export class CloudServer {
  readonly options: Readonly<CloudOptions>;
  private store?: Store;
  private listener?: HttpListener;
  private modelServer?: ModelServer;
  private appInstance?: Hono;
  private fabricInstance?: CloudFabric;
  private auditIntake?: AuditIntake;
  private controllerInstance?: ControllerService;
  private auditDriftCheck?: AuditDriftCheck;
  private stopping?: Promise<void>;

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

  /** `mqtt://host:port` of the cloud broker, or the WebSocket URL when there is no TCP listener. */
  get mqttUrl(): string {
    const port = this.fabric.mqttPort;
    return port === null ? this.wsUrl : `mqtt://${urlHost(this.options.host)}:${port}`;
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
    return `http://${urlHost(this.options.host)}:${this.httpPort}`;
  }

  async start(): Promise<CloudReady> {
    const o = this.options;
    try {
      // Bind first: a taken port fails fast, and health answers (503) while the rest starts.
      const app: FetchApp = {
        fetch: (req, env) => (this.appInstance ? this.appInstance.fetch(req, env) : starting()),
      };
      this.listener = await listenHttp(app, { port: o.httpPort, host: o.host, flag: '--http-port' });
      await mkdir(o.dataDir, { recursive: true });
      const adminToken = await ensureAdminToken(o.dataDir);
      this.store = await openStore({ dataDir: o.dataDir, databaseUrl: o.databaseUrl });
      const metrics = new CloudMetrics();
      const store = this.store;
      this.fabricInstance = await CloudFabric.start({
        store,
        httpServer: this.listener.server,
        host: o.host,
        mqttPort: o.mqttPort,
        limits: o.mqtt,
        edgeRate: o.edgeRate,
        edgeModels: () => (this.modelServer ? edgeModelVersions(this.modelServer) : {}),
        edgeRouting: async (id) => (await store.edgePolicies.get(id))?.directive ?? undefined,
        cloudModel: () => {
          if (!this.modelServer) throw new FoglineError('UNAVAILABLE', 'the cloud is starting');
          return this.modelServer.resolve(o.cloudModel);
        },
        log: (message, err) =>
          this.log(new FoglineError('INTERNAL', `${message}: ${err?.message ?? ''}`, { cause: err })),
      });
      const fabric = this.fabricInstance;
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
        o.auth ? apiKeyInferenceGuard(store.apiKeys, metrics) : openInferenceGuard(),
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
      });
      this.controllerInstance = controller;
      metrics.watchField(controller);
      const models = this.modelServer;
      this.auditDriftCheck = new AuditDriftCheck({
        // The controller's window: the records are read from the store once, by the controller.
        records: (edgeId) => controller.windows.records(edgeId).map((r) => r.scored),
        edges: async () => (await store.edges.list()).filter((e) => e.revokedAt === null).map((e) => e.id),
        edgeModels: () =>
          new Map(
            models
              .instances()
              .filter((m) => m.config.tier === 'edge')
              .map((m) => [`${m.name}:${m.version}`, m.config]),
          ),
        warn: this.info,
      });
      const auditDrift = this.auditDriftCheck;
      metrics.watchAuditDrift(auditDrift);
      this.appInstance = createApp({
        models: this.modelServer,
        guard,
        adminToken: adminToken.token,
        apiKeys: this.store.apiKeys,
        identities: fabric.identities,
        edgeDesired: {
          authenticateEdge: (authorization) => guard.authenticateEdge(authorization),
          current: (edgeId) => fabric.publisher.current(edgeId),
        },
        audits: {
          authenticateEdge: (authorization) => guard.authenticateEdge(authorization),
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
        metrics,
        maxBodyBytes: o.maxBodyBytes,
        serverName: SERVER_NAME,
        serverVersion: SERVER_VERSION,
        log: this.log,
      });
      await this.modelServer.loadAll();
      if (this.stopping) throw new FoglineError('UNAVAILABLE', 'the server was stopped while starting');
      await fabric.publishAll();
      controller.start();
      const state: CloudState = {
        url: this.url,
        httpPort: this.httpPort,
        mqttPort: fabric.mqttPort,
        pid: process.pid,
      };
      await writeFile(join(o.dataDir, CLOUD_STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
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
    await this.fabricInstance?.close();
    await this.listener?.close(this.options.shutdownTimeoutMs);
    this.auditDriftCheck?.close();
    await this.auditIntake?.close();
    await this.modelServer?.close();
    await this.store?.close();
    if (this.listener) await rm(join(this.options.dataDir, CLOUD_STATE_FILE), { force: true });
  }
}

/** A part of the server that exists only between start and stop. */
function started<T>(part: T | undefined): T {
  if (!part) throw new Error('CloudServer not started');
  return part;
}

function starting(): Response {
  return errorResponse(new FoglineError('UNAVAILABLE', 'server is starting'));
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

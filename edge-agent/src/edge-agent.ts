/**
 * The edge agent (docs/design.md "Tiers", "Where the brokers are"): a local broker for the devices on its
 * LAN, the mid model behind a dynamic batcher, a circuit-broken OIP client to the cloud, and an MQTT
 * session with the cloud broker for status, telemetry and the device list (fetched over HTTP too:
 * once at start, and periodically when there is no cloud broker). `createEdgeAgent` only validates
 * options; `start()` brings everything up and `stop()` shuts it down gracefully.
 */
import { driftModelOf, FoglineError, type ResolvedPolicy, resolvePolicy, topics } from '@fogline/shared';
import { loadModelRepository } from '@fogline/shared/model-repository';
import { preparePrivateDir } from '@fogline/shared/storage';
import { type EdgeAgentOptions, type ResolvedAgentOptions, resolveAgentOptions } from './agent-options.ts';
import { type Running, stopAgent } from './agent-running.ts';
import { startAuditRelay } from './audit-hook.ts';
import { DeviceAuditRate } from './audit-rate.ts';
import { CloudLink } from './cloud-link.ts';
import { CloudRouting, routingTelemetry } from './cloud-routing.ts';
import { closeCloudTier, createCloudTier } from './cloud-tier.ts';
import { deploymentHook, servingAtStart, startDeployments } from './deployment/deployment-hook.ts';
import { ModelSlot } from './deployment/model-slot.ts';
import { DesiredStatePoller } from './desired-state-poller.ts';
import { DeviceListCache } from './device-list-cache.ts';
import { type EdgeDeviceModels, startDeviceModels } from './device-models/edge-device-models.ts';
import { DeviceRegistry } from './device-registry.ts';
import { DeviceSync } from './device-sync.ts';
import type { DriftMonitor } from './drift-monitor.ts';
import type { EdgeAgent, EdgeAgentInfo } from './edge-agent-api.ts';
import {
  calibratedPolicyOf,
  createEdgeDrift,
  type DriftAlarmListener,
  driftTelemetry,
  watchRouting,
} from './edge-drift.ts';
import { renderEdgeMetrics } from './edge-metrics.ts';
import { EdgeModel } from './edge-model.ts';
import { EdgeTelemetry, type TelemetryMessage } from './edge-telemetry.ts';
import { startEmbeddedBus } from './embedded-bus.ts';
import { connectExternalBus } from './external-bus.ts';
import { InferHandler } from './infer-handler.ts';
import { startLateCorrections } from './late-corrections.ts';
import type { LocalBus } from './local-bus.ts';
import { startMetricsEndpoint } from './metrics-endpoint.ts';
import { ReportInbox } from './report-inbox.ts';
import { type DevicePolicyOptions, publishDevicePolicyOn, RoutingControl } from './routing-control.ts';
import { TelemetryCadence } from './telemetry-cadence.ts';

export type { EdgeAgent, EdgeAgentInfo } from './edge-agent-api.ts';

export function createEdgeAgent(options: EdgeAgentOptions): EdgeAgent {
  const config = resolveAgentOptions(options);
  const telemetry = new EdgeTelemetry();
  const registry = new DeviceRegistry();
  const reports = new ReportInbox((err) => config.logger.warn(`a report listener failed: ${String(err)}`));
  const driftListeners = new Set<DriftAlarmListener>([() => running?.cadence.now()]); // telemetry at once
  let running: Running | undefined;
  let starting: Promise<EdgeAgentInfo> | undefined;
  let stopping: Promise<void> | undefined;

  const snapshot = (): TelemetryMessage => {
    const r = running;
    return telemetry.snapshot(
      {
        edgeId: config.edgeId,
        model: r?.model.current.label ?? config.model,
        uptimeMs: r ? config.clock.now() - r.startedAt : 0,
        at: new Date(),
      },
      {
        breaker: r?.cloud?.replicas.state ?? 'closed',
        queueDepth: r?.model.queueDepth ?? 0,
        inFlight: r?.handler.inFlight ?? 0,
        devices: registry.size,
        ...(r?.drift && { drift: driftTelemetry(r.drift.status()) }),
        ...(r && { routing: routingTelemetry(r.routing, r.cloudRouting, r.audit.inEffect()) }),
      },
      reports.counts(r?.bus.reportsDropped()),
    );
  };

  return {
    start() {
      if (stopping) return Promise.reject(new Error('edge agent was stopped; create a new one'));
      starting ??= startAgent(config, telemetry, registry, reports, driftListeners).then(async (r) => {
        running = r;
        if (config.metrics) {
          const render = () =>
            renderEdgeMetrics(snapshot(), {
              lateCorrections: running?.late?.counts(),
              reports: reports.counts(running?.bus.reportsDropped()),
            });
          r.metrics = await startMetricsEndpoint(config.metrics, render).catch(async (err: unknown) => {
            running = undefined;
            await stopAgent(config, r);
            throw err;
          });
          r.info = { ...r.info, metrics: { host: r.metrics.host, port: r.metrics.port } };
        }
        const link = r.link;
        if (link) r.cadence.start(() => link.publishTelemetry(snapshot()), config.telemetryIntervalMs);
        return r.info;
      });
      return starting;
    },
    async stop() {
      if (starting) await starting.catch(() => {});
      stopping ??= running ? stopAgent(config, running) : Promise.resolve();
      return stopping;
    },
    telemetry: snapshot,
    get breakerState() {
      return running?.cloud?.replicas.state ?? 'closed';
    },
    get deviceListVersion() {
      return registry.version;
    },
    get cloudLinkConnected() {
      return running?.link?.connected ?? false;
    },
    get cloudLinkUrl() {
      return running?.link?.connectedUrl;
    },
    get cloudActiveUrl() {
      return running?.cloud?.replicas.activeUrl;
    },
    get routing() {
      return running?.routing.edge;
    },
    setRouting(policy) {
      return started().routing.setEdge(policy);
    },
    pinRouting(pinned) {
      started().routing.pin(pinned);
    },
    async publishDevicePolicy(policy, options = {}) {
      const r = started();
      const model = options.model ?? config.deviceModel;
      if (model === undefined) {
        throw new FoglineError(
          'INVALID_ARG',
          'publishDevicePolicy: say which device model the policy is for (options.model or the deviceModel option)',
        );
      }
      return publishDevicePolicyOn(r.bus, r.routing, config.edgeId, policy, { ...options, model });
    },
    routingHistory() {
      return running?.routing.history() ?? [];
    },
    reportCounts() {
      return reports.counts(running?.bus.reportsDropped());
    },
    onReport: (listener) => reports.listen(listener),
    driftStatus: () => running?.drift?.status(),
    onDriftAlarm(listener) {
      driftListeners.add(listener);
      return () => driftListeners.delete(listener);
    },
    auditCounts: () => running?.audits?.relay.counts(),
    auditRate: () => running?.audit.inEffect(),
    batching: () => running?.model.current.batching,
    get servingModel() {
      return running?.model.current.label;
    },
    deployment: () => running?.deployer.status(),
    lateCorrectionCounts: () => running?.late?.counts(),
    reloadTls: () => started().bus.reloadTls(),
    deviceModel: () => running?.deviceModels.service.status(),
    serveDeviceModel: (file) => started().deviceModels.service.apply(file),
  };

  function started(): Running {
    if (!running || stopping) throw new FoglineError('UNAVAILABLE', 'edge agent is not running');
    return running;
  }
}

async function startAgent(
  config: ResolvedAgentOptions,
  telemetry: EdgeTelemetry,
  registry: DeviceRegistry,
  reports: ReportInbox,
  driftListeners: ReadonlySet<DriftAlarmListener>,
): Promise<Running> {
  const { logger, edgeId } = config;
  const cadence = new TelemetryCadence();
  await preparePrivateDir(config.dataDir, { insecure: config.insecureDataDir });
  const repository = await loadModelRepository(config.modelsDir);
  // A deployed version outranks --model (docs/edge-agent.md "Deployments").
  const { entry, version, record } = await servingAtStart(config, repository);
  const routing = resolvePolicy({
    score: config.routingScore ?? entry.config.routing.score,
    threshold: config.routingThreshold ?? entry.config.routing.threshold,
  });
  const control = new RoutingControl({ edgeId, initial: routing, logger });
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    const model = await EdgeModel.load({ ...config, entry, version });
    const slot = new ModelSlot(model);
    let bus: LocalBus | undefined;
    let link: CloudLink | undefined;
    cleanups.push(() => slot.current.close());
    logger.info(model.sizingLine);
    const cloud =
      config.cloudUrls.length === 0
        ? undefined
        : createCloudTier(config, config.cloudUrls, telemetry, model.config);
    if (cloud) cleanups.push(() => closeCloudTier(cloud));
    const { deployer, report } = startDeployments({
      config,
      slot,
      cloud,
      record,
      link: () => link,
      reported: () => sync.reported(),
    });
    cleanups.push(() => deployer.close());

    let deviceModels: EdgeDeviceModels | undefined;
    const driftModel = entry.config.drift?.model;
    const deviceModel =
      config.deviceModel ?? (entry.config.drift ? driftModelOf(entry.config.drift) : undefined);
    const publishDevices = (policy: ResolvedPolicy | undefined, options: DevicePolicyOptions) => {
      if (!bus) throw new FoglineError('UNAVAILABLE', 'the local broker is not up yet');
      return publishDevicePolicyOn(bus, control, edgeId, policy, options);
    };
    const cloudRouting = new CloudRouting({
      control,
      onStatus: () => cadence.now(),
      deviceModel,
      devicePolicy: calibratedPolicyOf(repository, driftModel),
      baseline: entry.config.drift?.baseline,
      publishDevices,
      logger,
    });
    let drift: DriftMonitor | undefined;
    const audit = new DeviceAuditRate({
      own: config.auditRate,
      model: deviceModel,
      published: () => control.devices,
      publish: publishDevices,
      alarm: () => drift?.status().alarm ?? false,
      logger,
      onChange: () => cadence.now(),
    });
    const sync = new DeviceSync({
      edgeId,
      registry,
      cache: new DeviceListCache(config.dataDir),
      revoke: (ids) => bus?.revoke(ids),
      report,
      servedModels: () => ({ [slot.current.name]: slot.current.version }),
      routing: cloudRouting,
      auditRate: audit,
      deployment: deploymentHook(deployer, () => deviceModels?.service),
      logger,
    });
    await sync.loadCache();
    if (registry.version === undefined && config.localBroker.kind === 'embedded') {
      logger.warn('no cached device list: devices cannot connect until the cloud sends one');
    }

    const localBus: LocalBus =
      config.localBroker.kind === 'embedded'
        ? await startEmbeddedBus({ ...config.localBroker, edgeId, registry, clock: config.clock, logger })
        : await connectExternalBus({
            url: config.localBroker.url,
            clientId: config.localBroker.clientId ?? edgeId,
            username: config.localBroker.username ?? edgeId,
            ...(config.localBroker.password !== undefined && { password: config.localBroker.password }),
            onError: (err) => logger.warn(`local broker: ${err.message}`),
          });
    bus = localBus;
    cleanups.push(() => localBus.close());
    const models = await startDeviceModels(config, registry, localBus, cloud);
    deviceModels = models;
    cleanups.push(() => models.close());
    const late = await startLateCorrections(config, model, cloud, localBus);
    cleanups.push(() => late?.close());

    const handler = new InferHandler({
      ...config,
      model: slot,
      routing: () => control.edge,
      cloud,
      telemetry,
      publish: (topic, payload) => localBus.publish(topic, payload),
      onPublishError: (err) => logger.warn(`could not publish a reply: ${(err as Error).message}`),
      ...(late && { onDegraded: late.keep }),
      ...(config.logRequests === true && { log: (line: string) => logger.info(line) }),
    });
    await localBus.subscribe(
      topics.infer(edgeId),
      (payload, senderId) => void handler.handle(payload, senderId),
    );
    const deviceModelPolicy = calibratedPolicyOf(repository, driftModel);
    drift = createEdgeDrift({
      reference: entry.config.drift,
      options: config.drift,
      logger,
      published: () => control.devices,
      publish: (policy, options) => publishDevicePolicyOn(localBus, control, edgeId, policy, options),
      calmRate: () => audit.calm(),
      dataDir: config.dataDir,
      listeners: driftListeners,
    });
    const monitor = drift;
    if (monitor) {
      reports.listen((id, report) => report.kind === 'histogram' && monitor.receive(id, report.body));
      watchRouting(control, monitor, deviceModelPolicy);
    }
    await audit.start();
    // Reports are the lowest-priority traffic: bounded per device by the broker, only counted here.
    await localBus
      .subscribe(topics.allReports, (payload, _sender, topic) => reports.receive(payload, topic))
      .catch((err: Error) => logger.warn(`no reports from devices: ${err.message}`));

    if (config.cloudBrokerUrls.length > 0) {
      link = new CloudLink({
        urls: config.cloudBrokerUrls,
        failoverMs: config.cloudBrokerFailoverMs,
        failbackMs: config.cloudBrokerFailbackMs,
        edgeId,
        token: config.token,
        ...(config.cloudCa !== undefined && { ca: config.cloudCa }),
        onDesired: (payload) => void sync.receive(payload),
        onConnectionChange: (up, url) =>
          logger.info(up ? `cloud broker ${url} connected` : `cloud broker ${url} disconnected`),
        onError: (err) => logger.warn(`cloud broker: ${err.message}`),
      });
    }
    // The device list over HTTP: once now, and periodically when no cloud broker delivers it.
    const poller =
      cloud &&
      new DesiredStatePoller({
        client: {
          fetchDesiredState: (known, signal) =>
            cloud.replicas.call((c) => c.fetchDesiredState(known, signal)),
        },
        sync,
        appliedVersion: () => registry.version,
        intervalMs: config.cloudBrokerUrls.length === 0 ? config.deviceListPollMs : 0,
        logger,
      });
    poller?.start();
    const audits = startAuditRelay(config, slot, control, cloud, reports, drift);
    cleanups.push(() => audits?.close());
    const startedAt = config.clock.now();
    const running: Running = {
      model: slot,
      deployer,
      routing: control,
      cloudRouting,
      drift,
      audit,
      bus: localBus,
      handler,
      cloud,
      link,
      poller,
      audits,
      deviceModels: models,
      late,
      cadence,
      startedAt,
      info: {
        edgeId,
        model: model.label,
        routing,
        cloudUrl: config.cloudUrls[0],
        cloudUrls: config.cloudUrls,
        cloudModel: cloud?.replicas.model,
        cloudBrokerUrl: config.cloudBrokerUrls[0],
        cloudBrokerUrls: config.cloudBrokerUrls,
        localBroker: { kind: localBus.kind, ...localBus.endpoints },
        deviceListVersion: registry.version,
        ...(models.files && { deviceFiles: { host: models.files.host, port: models.files.port } }),
      },
    };
    return running;
  } catch (err) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
    throw err;
  }
}

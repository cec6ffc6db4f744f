/**
 * Options of `createEdgeAgent`: one typed defaults object with units in names, validated once at
 * start-up and frozen. Everything from outside (broker, cloud, storage, clock) comes in here.
 */
import type { BackoffOptions, Clock } from '@fogline/shared';
import {
  atLeast,
  checkFields,
  FoglineError,
  isValidId,
  ms,
  nonEmptyString,
  numberIn,
  offOrAtLeastMs,
  oneOf,
  optionChecker,
  portOrZero,
  positiveInt,
  type Rule,
  rule,
  SCORE_KINDS,
  type ScoreKind,
  systemClock,
  timerMs,
  url,
  urlList,
  urlsOf,
} from '@fogline/shared';
import type { BrokerOptions } from '@fogline/shared/broker';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { SIZING_MODES, type SizingMode } from '@fogline/shared/runtime';
import type { TlsFiles } from '@fogline/shared/tls';
import type { CloudBreakerOptions } from './cloud-breaker.ts';
import type { DeviceFilesOptions } from './device-models/device-file-server.ts';
import { resolveDeviceModelRetry } from './device-models/device-model-retry.ts';
import { type DriftOptions, resolveDriftSettings } from './drift-monitor.ts';
import type { MetricsEndpointOptions } from './metrics-endpoint.ts';

export type LocalBrokerOptions =
  /** The embedded fogline broker: devices authenticate against the synced device list. */
  | {
      readonly kind: 'embedded';
      /** Interface to bind; default 127.0.0.1, use 0.0.0.0 to serve a LAN. */
      readonly host?: string;
      /** MQTT over TCP; 0 = a free port. Default 1883. */
      readonly mqttPort?: number;
      /** MQTT over WebSocket (path /mqtt); 0 = a free port; undefined = no WebSocket listener. */
      readonly wsPort?: number;
      /** Largest MQTT packet a device may send. Default the broker's (256 KiB). */
      readonly maxPacketBytes?: number;
      /** Per-device publish token bucket. Default the broker's. */
      readonly publishRate?: { ratePerSec: number; burst: number };
      /** Per-device report token bucket, apart from publishRate. Default the broker's (5/s, burst 20). */
      readonly reportRate?: { ratePerSec: number; burst: number };
      /** Certificate and key (PEM files): the broker serves MQTTS and WSS; `reloadTls()` re-reads them. */
      readonly tls?: TlsFiles;
      /** Sockets open at once per listener, authenticated or not. Default the broker's (11 000). */
      readonly maxConnections?: number;
      /** Time a new connection has for its TLS handshake and its CONNECT. Default the broker's (10 s). */
      readonly connectTimeoutMs?: number;
      /** Failed-authentication budgets per device address and id. Default the broker's (docs/security.md). */
      readonly authFailures?: BrokerOptions['authFailures'];
    }
  /** An external broker (e.g. Mosquitto) whose own ACL applies; the agent connects as a client. */
  | {
      readonly kind: 'external';
      readonly url: string;
      /** Default: the edge id. */
      readonly clientId?: string;
      /** Default: the edge id. */
      readonly username?: string;
      /**
       * Default: none. The edge token is never sent there: it is the edge's credential on the cloud,
       * and a local broker's logs and password file are not the place for it.
       */
      readonly password?: string;
    };

export interface AgentLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface EdgeAgentOptions {
  readonly edgeId: string;
  /** The edge's token: its credential on the cloud broker and the cloud HTTP API. */
  readonly token: string;
  /**
   * Cloud gateway base URL (`http://host:port`), or the URLs of the cloud's replicas, the preferred
   * first (docs/edge-agent.md "Several cloud URLs"). Without it the edge never escalates.
   */
  readonly cloudUrl?: string | readonly string[];
  /** Cloud model to escalate to. Default `digits-large`. */
  readonly cloudModel?: string;
  /**
   * Cloud broker URL (`mqtt://host:port`), or several, the preferred first (the link moves to the next
   * when one is lost for `cloudBrokerFailoverMs`). Without it: no status or telemetry, and the device
   * list is polled over HTTP from `cloudUrl` instead (`deviceListPollMs`).
   */
  readonly cloudBrokerUrl?: string | readonly string[];
  /** With several cloud URLs: period of the ready probe of a replica whose breaker is open. Default 1000. */
  readonly cloudProbeIntervalMs?: number;
  /** With several cloud broker URLs: how long the link may be down before the next URL is tried. Default 5000. */
  readonly cloudBrokerFailoverMs?: number;
  /** Connected to a later cloud broker URL: how often the first is tried again. Default 30000. */
  readonly cloudBrokerFailbackMs?: number;
  /**
   * Period of the device-list poll over HTTP when there is no `cloudBrokerUrl`; 0 = no polling (the
   * one fetch at start still happens whenever there is a `cloudUrl`). Default 30000; else at least 100.
   */
  readonly deviceListPollMs?: number;
  readonly localBroker: LocalBrokerOptions;
  /** Holds the device-list cache and the probe cache; created 0700 (docs/security.md "Data directory"). */
  readonly dataDir: string;
  /** Start even when `dataDir` is group- or world-accessible (`--insecure-data-dir`). Default false. */
  readonly insecureDataDir?: boolean;
  /**
   * A CA certificate (PEM text) trusted for the cloud's HTTPS and MQTTS besides the system CAs, for a
   * cloud with a self-signed or private-CA certificate (`--tls-ca`).
   */
  readonly cloudCa?: string;
  /**
   * Serve Prometheus `/metrics` (docs/edge-agent.md "Metrics"): port, host (default 127.0.0.1), and a
   * bearer token, required when the host is not loopback. Default off.
   */
  readonly metrics?: MetricsEndpointOptions;
  /**
   * Serve the devices their model over HTTP (docs/edge-agent.md "Device models"): port, host (default
   * 0.0.0.0), and the base URL devices reach it by. Default off: a deployment's device model then fails.
   */
  readonly deviceFiles?: DeviceFilesOptions;
  /**
   * Waits between the tries of a device model download that failed on the way (docs/edge-agent.md
   * "Device models"): full jitter up to `initialDelayMs` doubled each try, capped at `maxDelayMs`.
   * Defaults 1000 and 300000 (1 s doubling to 5 min, RETRY_BACKOFF_DEFAULTS).
   */
  readonly deviceModelRetry?: Partial<BackoffOptions>;
  /** Model repository directory. Default `<repo>/models`. */
  readonly modelsDir?: string;
  /** Edge model. Default `digits-mid-int8` (the INT8 digits-mid from `fogline quantize`). */
  readonly model?: string;
  /** Default: the latest version in the repository. */
  readonly modelVersion?: number;
  /**
   * `name:version` of the model this edge's devices run (e.g. `digits-tiny:1`): the default `model`
   * of `publishDevicePolicy`. Devices refuse a policy for another model.
   */
  readonly deviceModel?: string;
  /** Overrides of the model config's routing policy. */
  readonly routingScore?: ScoreKind;
  readonly routingThreshold?: number;
  /** Batching overrides (defaults from the model config). */
  readonly maxBatchSize?: number;
  readonly maxQueueDelayMs?: number;
  readonly maxQueueSize?: number;
  /** Inference engine sizing (default: from `sizing`); each overrides it. */
  readonly workers?: number;
  readonly intraOpThreads?: number;
  /**
   * `probe`: workers × threads and batching from the model's measured cost on this machine, probed at
   * load (≈ 1 s) and cached in `dataDir`; `default` (the default): one single-thread session per core
   * beyond the first. `fogline edge --sizing` has the same default (probe stays opt-in until a probed
   * run is measured on a big machine: docs/edge-agent.md "Engine sizing").
   */
  readonly sizing?: SizingMode;
  /** Budget assumed for a request without `deadline_ms`. Default 1000. */
  readonly defaultDeadlineMs?: number;
  /** Budgets above this are clamped. Default 60000. */
  readonly maxDeadlineMs?: number;
  /** Budget held back to publish the reply. Default 5. */
  readonly replyMarginMs?: number;
  /** Least remaining budget for which a cloud call is attempted. Default 10. */
  readonly minCloudBudgetMs?: number;
  readonly breaker?: CloudBreakerOptions;
  /**
   * The drift monitor on the edge config's `drift` block (docs/edge-agent.md "Drift"): window size,
   * alarm PSI, hysteresis, audit rates. `false`: off. Checked when the agent starts.
   */
  readonly drift?: DriftOptions | false;
  /** Keep-alive connections to the cloud. Default 16. */
  readonly cloudConnections?: number;
  /**
   * Raw inputs of this edge's audits: 'keep' lets the cloud store them (for its configured days),
   * 'drop' is the opt-out: the cloud still computes the reference on them but stores none. Default 'keep'.
   */
  readonly auditInputs?: 'keep' | 'drop';
  /**
   * The share of requests the devices audit, in [0, 1] (docs/field-accuracy.md "The audit rate"):
   * published to them at start, and what they go back to after a drift alarm or when an operator's
   * rate (`fogline policy audit-rate`) is cleared. Default: none published (the devices audit at
   * their own rate, 2 % unless their application says otherwise; after an alarm, `drift.calmAuditRate`).
   */
  readonly auditRate?: number;
  /** Audits waiting at the edge (for its model or the upload) at most; past it they are dropped. Default 256. */
  readonly auditQueueSize?: number;
  /**
   * Audits per second forwarded while the drift alarm is on even when the edge model stays busy
   * (then without the edge's answer; the cloud still adds its own): the floor load shedding cannot
   * take. 0: none. Default 2.
   */
  readonly auditFloorPerSec?: number;
  /**
   * Model downloads of deployments (docs/edge-agent.md "Deployments"): an attempt with no byte for
   * `idleTimeoutMs` is dropped, `attempts` in all (resuming with Range), the first retry after
   * `backoffMs`, doubled each time. Defaults 30000, 5, 1000.
   */
  readonly deploymentDownload?: {
    readonly idleTimeoutMs?: number;
    readonly attempts?: number;
    readonly backoffMs?: number;
  };
  /**
   * Bytes on disk the late-correction store may take (docs/edge-agent.md "Late corrections"); 0 = off:
   * nothing answered degraded is kept. Default 16 MiB; else at least 4096.
   */
  readonly lateCorrectionsMaxBytes?: number;
  /** How long a degraded answer and its correction are kept, ms. Default 3600000 (1 h). */
  readonly lateCorrectionsTtlMs?: number;
  /** Telemetry period. Default 5000. */
  readonly telemetryIntervalMs?: number;
  /** Bound on waiting for in-flight requests at stop. Default 5000. */
  readonly shutdownTimeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: AgentLogger;
  /**
   * One logger.info line per inference request, with its request id and trace id (edge-agent/src/
   * request-log.ts, docs/reliability.md "Tracing a request"). Default false.
   */
  readonly logRequests?: boolean;
}

export const AGENT_DEFAULTS = Object.freeze({
  cloudModel: 'digits-large',
  model: 'digits-mid-int8',
  defaultDeadlineMs: 1000,
  maxDeadlineMs: 60_000,
  replyMarginMs: 5,
  minCloudBudgetMs: 10,
  cloudConnections: 16,
  auditInputs: 'keep' as 'keep' | 'drop',
  auditQueueSize: 256,
  auditFloorPerSec: 2,
  lateCorrectionsMaxBytes: 16 * 1024 * 1024,
  lateCorrectionsTtlMs: 3_600_000,
  telemetryIntervalMs: 5000,
  deviceListPollMs: 30_000,
  cloudProbeIntervalMs: 1000,
  cloudBrokerFailoverMs: 5000,
  cloudBrokerFailbackMs: 30_000,
  shutdownTimeoutMs: 5000,
});

const silent: AgentLogger = { info: () => {}, warn: () => {} };

export type ResolvedAgentOptions = Readonly<
  EdgeAgentOptions &
    typeof AGENT_DEFAULTS & {
      modelsDir: string;
      clock: Clock;
      logger: AgentLogger;
      breaker: CloudBreakerOptions;
      deviceModelRetry: BackoffOptions;
      /** `cloudUrl` as a list, the preferred first; empty without one. */
      cloudUrls: readonly string[];
      /** `cloudBrokerUrl` as a list, the preferred first; empty without one. */
      cloudBrokerUrls: readonly string[];
    }
>;

const MQTT_SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:'];

/** What each option may be; `fogline edge` parses its flags with the same rules. */
export const AGENT_RULES = Object.freeze({
  edgeId: rule<string>('1-64 chars of [A-Za-z0-9._-]', isValidId),
  token: nonEmptyString,
  dataDir: rule<string>('a directory path', (v) => typeof v === 'string' && v !== ''),
  cloudUrl: urlList(['http:', 'https:']),
  cloudBrokerUrl: urlList(MQTT_SCHEMES),
  cloudProbeIntervalMs: timerMs(10),
  cloudBrokerFailoverMs: ms(),
  cloudBrokerFailbackMs: timerMs(100),
  deviceModel: rule<string>('"name:version"', (v) => typeof v === 'string' && /^[^:\s]+:[^:\s]+$/.test(v)),
  routingScore: oneOf(SCORE_KINDS),
  routingThreshold: numberIn(0, 1),
  modelVersion: positiveInt,
  maxBatchSize: positiveInt,
  maxQueueSize: positiveInt,
  workers: positiveInt,
  intraOpThreads: positiveInt,
  sizing: oneOf(SIZING_MODES),
  cloudConnections: positiveInt,
  auditInputs: oneOf(['keep', 'drop']),
  auditRate: numberIn(0, 1),
  auditQueueSize: positiveInt,
  auditFloorPerSec: atLeast(0),
  maxQueueDelayMs: timerMs(0),
  defaultDeadlineMs: timerMs(0),
  maxDeadlineMs: timerMs(0),
  replyMarginMs: ms(),
  minCloudBudgetMs: ms(),
  lateCorrectionsMaxBytes: rule<number>(
    '0 (off) or an integer >= 4096',
    (v) => v === 0 || (Number.isInteger(v) && (v as number) >= 4096),
  ),
  lateCorrectionsTtlMs: ms(100),
  telemetryIntervalMs: timerMs(100),
  deviceListPollMs: offOrAtLeastMs(100, 'only at start'),
  shutdownTimeoutMs: timerMs(0),
} satisfies { readonly [K in keyof EdgeAgentOptions]?: Rule<unknown> });

/** The local broker: its kind, the embedded one's ports, the external one's URL. */
export const LOCAL_BROKER_RULES = Object.freeze({
  kind: oneOf(['embedded', 'external']),
  mqttPort: portOrZero,
  wsPort: portOrZero,
  maxConnections: positiveInt,
  connectTimeoutMs: positiveInt,
  url: url(MQTT_SCHEMES),
});

/** Deployment downloads (defaults: DOWNLOAD_DEFAULTS in deployment/model-download.ts). */
export const DOWNLOAD_RULES = Object.freeze({
  idleTimeoutMs: timerMs(0),
  attempts: positiveInt,
  backoffMs: timerMs(0),
});

/** The device file listener (`deviceFiles`). */
export const DEVICE_FILES_RULES = Object.freeze({
  port: portOrZero,
  host: nonEmptyString,
  publicUrl: url(['http:', 'https:']),
});

/** The cloud breaker's settings (defaults: BREAKER_DEFAULTS in cloud-breaker.ts). */
export const BREAKER_RULES = Object.freeze({
  errorThresholdPercentage: rule<number>(
    'a percentage in (0, 100]',
    (v) => typeof v === 'number' && v > 0 && v <= 100,
  ),
  volumeThreshold: positiveInt,
  consecutiveFailures: positiveInt,
  resetTimeoutMs: timerMs(0),
  rollingWindowMs: timerMs(0),
  capacity: positiveInt,
} satisfies { readonly [K in keyof CloudBreakerOptions]-?: Rule<unknown> });

const check = optionChecker('edge agent');

export function resolveAgentOptions(options: EdgeAgentOptions): ResolvedAgentOptions {
  // Required: checked even when absent (checkFields skips undefined fields).
  for (const field of ['edgeId', 'token', 'dataDir'] as const)
    check(field, options[field], AGENT_RULES[field]);
  checkFields(check, options, AGENT_RULES);
  const broker = options.localBroker;
  check('localBroker.kind', broker?.kind, LOCAL_BROKER_RULES.kind);
  checkFields(check, broker as Record<string, unknown>, LOCAL_BROKER_RULES, 'localBroker.');
  if (options.breaker) checkFields(check, options.breaker, BREAKER_RULES, 'breaker.');
  if (options.deploymentDownload) {
    checkFields(check, options.deploymentDownload, DOWNLOAD_RULES, 'deploymentDownload.');
  }
  if (options.deviceFiles) {
    check('deviceFiles.port', options.deviceFiles.port, DEVICE_FILES_RULES.port);
    checkFields(check, options.deviceFiles, DEVICE_FILES_RULES, 'deviceFiles.');
  }
  const deviceModelRetry = resolveDeviceModelRetry(options.deviceModelRetry);
  if (options.drift) resolveDriftSettings(options.drift);
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = {
    ...AGENT_DEFAULTS,
    modelsDir: DEFAULT_MODELS_DIR,
    clock: systemClock,
    logger: silent,
    breaker: {},
    ...defined,
    deviceModelRetry,
    cloudUrls: Object.freeze([...urlsOf(options.cloudUrl)]),
    cloudBrokerUrls: Object.freeze([...urlsOf(options.cloudBrokerUrl)]),
  } as ResolvedAgentOptions;
  if (resolved.defaultDeadlineMs > resolved.maxDeadlineMs) {
    throw new FoglineError('INVALID_ARG', 'edge agent: defaultDeadlineMs must not exceed maxDeadlineMs', {
      details: { field: 'defaultDeadlineMs' },
    });
  }
  return Object.freeze(resolved);
}

/**
 * Options of `fogline cloud`: one typed defaults object, units in the names, validated once at start.
 */
import { resolve } from 'node:path';
import {
  atLeast,
  checkFields,
  FoglineError,
  intAtLeast,
  numberIn,
  oneOf,
  optionChecker,
  portOrZero,
  positive,
  rule,
  timerMs,
} from '@fogline/shared';
import { resolveBrokerOptions } from '@fogline/shared/broker';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import type { TlsFiles } from '@fogline/shared/tls';
import { resolveKnobs } from '@fogline/toolchain';
import { type AuditSettings, DEFAULT_AUDIT_SETTINGS } from './audits/audit-intake.ts';
import { DEFAULT_REPLICA_HEARTBEAT_MS } from './cluster/broker-engines.ts';
import { DEFAULT_KEY_PREFIX } from './cluster/cluster.ts';
import { type ControllerSettings, DEFAULT_CONTROLLER_SETTINGS } from './controller/controller-service.ts';
import type { CloudBrokerLimits } from './fabric/cloud-fabric.ts';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from './http/http-listener.ts';
import { DEFAULT_EDGE_RATE, type EdgeRate } from './identities/edge-inference-guard.ts';
import { DEFAULT_MAX_MODEL_BYTES } from './model-store/model-store.ts';
import { checkModelName } from './serving/model-server.ts';
import { SERVING_RULES, type ServingOptions } from './serving/serving-options.ts';
import { DEFAULT_DATA_DIR } from './store/index.ts';

export interface CloudOptions {
  /** HTTP (OIP) port; 0 picks a free one. */
  httpPort: number;
  /** Interface to bind; default all. */
  host: string;
  /** MQTT over TCP of the cloud broker; 0 picks a free one; null = MQTT over WebSocket (/mqtt) only. */
  mqttPort: number | null;
  /** Cloud broker limits (max packet size, drain timeout, connection throttling, ...); broker defaults. */
  mqtt: CloudBrokerLimits;
  /** Token bucket of each edge on HTTP infer (`Bearer <edgeId>:<edge token>`). */
  edgeRate: EdgeRate;
  /** State: admin token, PGlite database, cloud.json; created 0700 (docs/security.md "Data directory"). */
  dataDir: string;
  /** `--insecure-data-dir`: start even when the data dir is group- or world-accessible. */
  insecureDataDir: boolean;
  /** Model repository. */
  modelsDir: string;
  /** Model that answers devices connected straight to the cloud broker (no edge). */
  cloudModel: string;
  /** PostgreSQL URL; default `DATABASE_URL`, else PGlite in the data dir. */
  databaseUrl: string | undefined;
  /**
   * Redis shared by the replicas of one cloud (`--redis-url`, `FOGLINE_REDIS_URL`; cluster/cluster.ts,
   * docs/scale-out.md); undefined = one process, shared state in memory.
   */
  redisUrl: string | undefined;
  /**
   * What this cloud's keys and channels in that Redis start with (`--redis-key-prefix`,
   * `FOGLINE_REDIS_KEY_PREFIX`): one per cloud, the same on all its replicas. Default `fogline:`.
   */
  redisKeyPrefix: string;
  /**
   * How often each replica's broker says it is alive (docs/scale-out.md "The broker cluster"): a
   * replica silent for 3 of these is dead, its edges offline, its clients' wills published. Default 2000.
   */
  replicaHeartbeatMs: number;
  /** false = --no-auth: infer without API keys (and repository control without the admin token). */
  auth: boolean;
  /** Request bodies past this get 413. */
  maxBodyBytes: number;
  /** Slow clients and caps on the HTTP listener: header and request deadlines, sockets at once. */
  http: HttpLimits;
  /** Model files pushed to the model store past this get 413 (`--max-model-mb`). */
  maxModelBytes: number;
  /** How long a stop waits for in-flight requests before closing their connections. */
  shutdownTimeoutMs: number;
  serving: ServingOptions;
  /**
   * Size of the response cache in MiB (`--response-cache-mb`, `FOGLINE_RESPONSE_CACHE_MB`), shared by
   * the models whose config.json enables `response_cache`; 0 = no cache.
   */
  responseCacheMb: number;
  /** Audits from edges (docs/cloud.md "Audits"): raw inputs kept or not, for how long, record bounds. */
  audits: AuditSettings;
  /**
   * The controller (docs/field-accuracy.md "The controller, wired"): on or off, how often it runs,
   * the cloud budget, each edge's field-record window, knob overrides.
   */
  controller: ControllerSettings;
  /** `--demo`: the playground's public demo identity (docs/dashboard.md "Playground"); off by default. */
  demo: boolean;
  /**
   * `--log-requests`: one info line per OIP infer request, with its request id, trace id and status
   * (docs/reliability.md "Tracing a request"); off by default.
   */
  logRequests: boolean;
  /**
   * Certificate and key (PEM files): HTTP is HTTPS, the broker MQTTS, `/mqtt` WSS (docs/security.md).
   * Re-read by `reloadTls()` (SIGHUP). Default none: plain TCP.
   */
  tls: TlsFiles | undefined;
}

export const DEFAULT_CLOUD_OPTIONS: Readonly<CloudOptions> = Object.freeze({
  httpPort: 8000,
  host: '0.0.0.0',
  mqttPort: 1883,
  mqtt: Object.freeze({}),
  edgeRate: DEFAULT_EDGE_RATE,
  dataDir: DEFAULT_DATA_DIR,
  insecureDataDir: false,
  modelsDir: DEFAULT_MODELS_DIR,
  cloudModel: 'digits-large',
  databaseUrl: undefined,
  redisUrl: undefined,
  redisKeyPrefix: DEFAULT_KEY_PREFIX,
  replicaHeartbeatMs: DEFAULT_REPLICA_HEARTBEAT_MS,
  auth: true,
  maxBodyBytes: 16 * 1024 * 1024,
  http: DEFAULT_HTTP_LIMITS,
  maxModelBytes: DEFAULT_MAX_MODEL_BYTES,
  shutdownTimeoutMs: 5_000,
  serving: Object.freeze({}),
  responseCacheMb: 0,
  audits: DEFAULT_AUDIT_SETTINGS,
  controller: DEFAULT_CONTROLLER_SETTINGS,
  demo: false,
  logRequests: false,
  tls: undefined,
});

/** What each option may be; `fogline cloud` parses its flags with the same rules. */
export const CLOUD_RULES = Object.freeze({
  httpPort: portOrZero,
  mqttPort: portOrZero,
  maxBodyBytes: intAtLeast(1024),
  http: Object.freeze({
    headersTimeoutMs: timerMs(100, true),
    requestTimeoutMs: timerMs(100, true),
    maxConnections: intAtLeast(1),
  }),
  maxModelBytes: intAtLeast(1024),
  shutdownTimeoutMs: timerMs(0, true),
  // Redis glob characters would change what mqemitter-redis subscribes to.
  redisKeyPrefix: rule<string>('1 to 64 of A-Z a-z 0-9 : _ . -', (v) => /^[\w:.-]{1,64}$/.test(String(v))),
  replicaHeartbeatMs: timerMs(100, true),
  responseCacheMb: numberIn(0, 1024 * 1024),
  edgeRate: Object.freeze({ ratePerSec: positive, burst: atLeast(1) }),
  audits: Object.freeze({
    inputs: oneOf(['keep', 'drop']),
    inputTtlMs: intAtLeast(0),
    maxQueued: intAtLeast(1),
    pruneIntervalMs: timerMs(1, true),
  }),
  auditRetention: Object.freeze({ maxRecords: intAtLeast(0), maxAgeMs: intAtLeast(0) }),
  controller: Object.freeze({
    intervalMs: timerMs(50, true),
    alarmIntervalMs: timerMs(50, true),
    cloudBudget: numberIn(0.000001, 1),
  }),
  controllerWindow: Object.freeze({ maxRecords: intAtLeast(1), maxAgeMs: intAtLeast(1) }),
});

const check = optionChecker('cloud options');

/** Fills defaults, checks every field, and freezes the result. */
export function resolveCloudOptions(partial: Partial<CloudOptions> = {}): Readonly<CloudOptions> {
  const o: CloudOptions = {
    ...DEFAULT_CLOUD_OPTIONS,
    ...partial,
    serving: { ...partial.serving },
    mqtt: { ...partial.mqtt },
    http: { ...DEFAULT_HTTP_LIMITS, ...partial.http },
    edgeRate: partial.edgeRate ?? DEFAULT_EDGE_RATE,
    audits: {
      ...DEFAULT_AUDIT_SETTINGS,
      ...partial.audits,
      retention: { ...DEFAULT_AUDIT_SETTINGS.retention, ...partial.audits?.retention },
    },
    controller: {
      ...DEFAULT_CONTROLLER_SETTINGS,
      ...partial.controller,
      window: { ...DEFAULT_CONTROLLER_SETTINGS.window, ...partial.controller?.window },
    },
  };
  check('httpPort', o.httpPort, CLOUD_RULES.httpPort);
  if (o.mqttPort !== null) check('mqttPort', o.mqttPort, CLOUD_RULES.mqttPort);
  check('maxBodyBytes', o.maxBodyBytes, CLOUD_RULES.maxBodyBytes);
  checkFields(check, o.http, CLOUD_RULES.http, 'http.');
  if (o.http.headersTimeoutMs > o.http.requestTimeoutMs) {
    throw new FoglineError(
      'INVALID_ARG',
      'cloud options: http.headersTimeoutMs must not exceed http.requestTimeoutMs',
      {
        details: { field: 'http.headersTimeoutMs' },
      },
    );
  }
  check('maxModelBytes', o.maxModelBytes, CLOUD_RULES.maxModelBytes);
  try {
    checkModelName(o.cloudModel);
  } catch (err) {
    throw new FoglineError(
      'INVALID_ARG',
      `cloud options: cloudModel must be a model name, got ${JSON.stringify(o.cloudModel)}`,
      { cause: err },
    );
  }
  check('shutdownTimeoutMs', o.shutdownTimeoutMs, CLOUD_RULES.shutdownTimeoutMs);
  check('redisKeyPrefix', o.redisKeyPrefix, CLOUD_RULES.redisKeyPrefix);
  check('replicaHeartbeatMs', o.replicaHeartbeatMs, CLOUD_RULES.replicaHeartbeatMs);
  check('responseCacheMb', o.responseCacheMb, CLOUD_RULES.responseCacheMb);
  const s = o.serving;
  const { preferredBatchSize, ...servingFields } = SERVING_RULES;
  checkFields(check, s, servingFields, 'serving.');
  for (const n of s.preferredBatchSizes ?? []) check('serving.preferredBatchSizes', n, preferredBatchSize);
  // The broker validates its own options; checked here too so a bad flag fails before anything binds.
  resolveBrokerOptions({ ...o.mqtt, resolveIdentity: async () => null });
  checkFields(check, o.edgeRate, CLOUD_RULES.edgeRate, 'edgeRate.');
  const { retention, ...auditFields } = o.audits;
  checkFields(check, auditFields, CLOUD_RULES.audits, 'audits.');
  checkFields(check, retention, CLOUD_RULES.auditRetention, 'audits.retention.');
  const { enabled, window, knobs, ...controllerFields } = o.controller;
  checkFields(check, controllerFields, CLOUD_RULES.controller, 'controller.');
  checkFields(check, window, CLOUD_RULES.controllerWindow, 'controller.window.');
  if (knobs) resolveKnobs(knobs);
  return Object.freeze({
    ...o,
    mqtt: Object.freeze({ ...o.mqtt }),
    http: Object.freeze({ ...o.http }),
    edgeRate: Object.freeze({ ...o.edgeRate }),
    dataDir: resolve(o.dataDir),
    modelsDir: resolve(o.modelsDir),
    serving: Object.freeze({ ...s, probeDir: resolve(s.probeDir ?? o.dataDir) }),
    audits: Object.freeze({ ...o.audits, retention: Object.freeze({ ...retention }) }),
    controller: Object.freeze({
      ...o.controller,
      enabled: enabled !== false,
      window: Object.freeze({ ...window }),
    }),
  });
}

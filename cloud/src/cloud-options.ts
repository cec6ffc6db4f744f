/**
 * Options of `fogline cloud`: one typed defaults object, units in the names, validated once at start.
 */
import { resolve } from 'node:path';
import { resolveBrokerOptions } from '@fogline/shared/broker/broker-options';
import { FoglineError } from '@fogline/shared/errors';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository/index';
import type { CloudBrokerLimits } from './fabric/cloud-fabric.ts';
import { DEFAULT_EDGE_RATE, type EdgeRate } from './identities/edge-inference-guard.ts';
import { checkModelName } from './serving/model-server.ts';
import type { ServingOptions } from './serving/serving-options.ts';
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
  /** State: admin token, PGlite database, cloud.json. */
  dataDir: string;
  /** Model repository. */
  modelsDir: string;
  /** Model that answers devices connected straight to the cloud broker (no edge). */
  cloudModel: string;
  /** PostgreSQL URL; default `DATABASE_URL`, else PGlite in the data dir. */
  databaseUrl: string | undefined;
  /** false = --no-auth: infer without API keys (and repository control without the admin token). */
  auth: boolean;
  /** Request bodies past this get 413. */
  maxBodyBytes: number;
  /** How long a stop waits for in-flight requests before closing their connections. */
  shutdownTimeoutMs: number;
  serving: ServingOptions;
}

export const DEFAULT_CLOUD_OPTIONS: Readonly<CloudOptions> = Object.freeze({
  httpPort: 8000,
  host: '0.0.0.0',
  mqttPort: 1883,
  mqtt: Object.freeze({}),
  edgeRate: DEFAULT_EDGE_RATE,
  dataDir: DEFAULT_DATA_DIR,
  modelsDir: DEFAULT_MODELS_DIR,
  cloudModel: 'digits-large',
  databaseUrl: undefined,
  auth: true,
  maxBodyBytes: 16 * 1024 * 1024,
  shutdownTimeoutMs: 5_000,
  serving: Object.freeze({}),
});

/** Fills defaults, checks every field, and freezes the result. */
export function resolveCloudOptions(partial: Partial<CloudOptions> = {}): Readonly<CloudOptions> {
  const o: CloudOptions = {
    ...DEFAULT_CLOUD_OPTIONS,
    ...partial,
    serving: { ...partial.serving },
    mqtt: { ...partial.mqtt },
    edgeRate: partial.edgeRate ?? DEFAULT_EDGE_RATE,
  };
  port('httpPort', '--http-port', o.httpPort);
  if (o.mqttPort !== null) port('mqttPort', '--mqtt-port', o.mqttPort);
  int('maxBodyBytes', o.maxBodyBytes, 1024);
  try {
    checkModelName(o.cloudModel);
  } catch (err) {
    throw new FoglineError(
      'INVALID_ARG',
      `cloudModel must be a model name, got ${JSON.stringify(o.cloudModel)}`,
      {
        cause: err,
      },
    );
  }
  int('shutdownTimeoutMs', o.shutdownTimeoutMs, 0);
  const s = o.serving;
  if (s.workers !== undefined) int('workers', s.workers, 1, 64);
  if (s.intraOpThreads !== undefined) int('intraOpThreads', s.intraOpThreads, 1, 256);
  if (s.maxBatchSize !== undefined) int('maxBatchSize', s.maxBatchSize, 1, 4096);
  if (s.maxQueueSize !== undefined) int('maxQueueSize', s.maxQueueSize, 1, 1_000_000);
  if (s.maxQueueDelayMs !== undefined && !(s.maxQueueDelayMs >= 0 && s.maxQueueDelayMs <= 60_000)) {
    throw new FoglineError('INVALID_ARG', `maxQueueDelayMs must be in 0..60000, got ${s.maxQueueDelayMs}`);
  }
  for (const n of s.preferredBatchSizes ?? []) int('preferredBatchSizes', n, 1, 4096);
  // The broker validates its own options; checked here too so a bad flag fails before anything binds.
  resolveBrokerOptions({ ...o.mqtt, resolveIdentity: async () => null });
  positive('edgeRate.ratePerSec', o.edgeRate.ratePerSec);
  positive('edgeRate.burst', o.edgeRate.burst, 1);
  return Object.freeze({
    ...o,
    mqtt: Object.freeze({ ...o.mqtt }),
    edgeRate: Object.freeze({ ...o.edgeRate }),
    dataDir: resolve(o.dataDir),
    modelsDir: resolve(o.modelsDir),
    serving: Object.freeze(s),
  });
}

function port(name: string, flag: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 65_535) {
    throw new FoglineError('INVALID_ARG', `${name} must be a port number 0..65535 (${flag}), got ${v}`);
  }
}

function int(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new FoglineError('INVALID_ARG', `${name} must be an integer in ${min}..${max}, got ${v}`);
  }
}

function positive(name: string, v: number, min = Number.MIN_VALUE): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
    const bound = min === Number.MIN_VALUE ? '> 0' : `>= ${min}`;
    throw new FoglineError('INVALID_ARG', `${name} must be a number ${bound}, got ${v}`);
  }
}

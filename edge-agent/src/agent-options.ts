/**
 * Options of `createEdgeAgent`: one typed defaults object with units in names, validated once at
 * start-up and frozen. Everything from outside (broker, cloud, storage, clock) comes in here.
 */
import type { Clock } from '@fogline/shared/clock';
import { systemClock } from '@fogline/shared/clock';
import { isValidId } from '@fogline/shared/core/fabric/index';
import { isScoreKind, type ScoreKind } from '@fogline/shared/core/routing/index';
import { FoglineError } from '@fogline/shared/errors';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository/index';
import type { CloudBreakerOptions } from './cloud-breaker.ts';

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
  /** Cloud gateway base URL (`http://host:port`). Without it the edge never escalates. */
  readonly cloudUrl?: string;
  /** Cloud model to escalate to. Default `digits-large`. */
  readonly cloudModel?: string;
  /**
   * Cloud broker URL (`mqtt://host:port`). Without it: no status or telemetry, and the device list is
   * polled over HTTP from `cloudUrl` instead (`deviceListPollMs`).
   */
  readonly cloudBrokerUrl?: string;
  /**
   * Period of the device-list poll over HTTP when there is no `cloudBrokerUrl`; 0 = no polling (the
   * one fetch at start still happens whenever there is a `cloudUrl`). Default 30000; else at least 100.
   */
  readonly deviceListPollMs?: number;
  readonly localBroker: LocalBrokerOptions;
  /** Holds the device-list cache. */
  readonly dataDir: string;
  /** Model repository directory. Default `<repo>/models`. */
  readonly modelsDir?: string;
  /** Edge model. Default `digits-mid-int8` (the INT8 digits-mid from `fogline quantize`). */
  readonly model?: string;
  /** Default: the latest version in the repository. */
  readonly modelVersion?: number;
  /** Overrides of the model config's routing policy. */
  readonly routingScore?: ScoreKind;
  readonly routingThreshold?: number;
  /** Batching overrides (defaults from the model config). */
  readonly maxBatchSize?: number;
  readonly maxQueueDelayMs?: number;
  readonly maxQueueSize?: number;
  /** Inference engine sizing (default: one single-thread session per core beyond the first). */
  readonly workers?: number;
  readonly intraOpThreads?: number;
  /** Budget assumed for a request without `deadline_ms`. Default 1000. */
  readonly defaultDeadlineMs?: number;
  /** Budgets above this are clamped. Default 60000. */
  readonly maxDeadlineMs?: number;
  /** Budget held back to publish the reply. Default 5. */
  readonly replyMarginMs?: number;
  /** Least remaining budget for which a cloud call is attempted. Default 10. */
  readonly minCloudBudgetMs?: number;
  readonly breaker?: CloudBreakerOptions;
  /** Keep-alive connections to the cloud. Default 16. */
  readonly cloudConnections?: number;
  /** Telemetry period. Default 5000. */
  readonly telemetryIntervalMs?: number;
  /** Bound on waiting for in-flight requests at stop. Default 5000. */
  readonly shutdownTimeoutMs?: number;
  readonly clock?: Clock;
  readonly logger?: AgentLogger;
}

export const AGENT_DEFAULTS = Object.freeze({
  cloudModel: 'digits-large',
  model: 'digits-mid-int8',
  defaultDeadlineMs: 1000,
  maxDeadlineMs: 60_000,
  replyMarginMs: 5,
  minCloudBudgetMs: 10,
  cloudConnections: 16,
  telemetryIntervalMs: 5000,
  deviceListPollMs: 30_000,
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
    }
>;

export function resolveAgentOptions(options: EdgeAgentOptions): ResolvedAgentOptions {
  const fail = (message: string): never => {
    throw new FoglineError('INVALID_ARG', `edge agent: ${message}`);
  };
  if (!isValidId(options.edgeId))
    fail(`edgeId must be 1-64 chars of [A-Za-z0-9._-], got ${JSON.stringify(options.edgeId)}`);
  if (typeof options.token !== 'string' || options.token.length === 0)
    fail('token must be a non-empty string');
  if (typeof options.dataDir !== 'string' || options.dataDir === '') fail('dataDir must be a directory path');
  for (const [name, url, schemes] of [
    ['cloudUrl', options.cloudUrl, ['http:', 'https:']],
    ['cloudBrokerUrl', options.cloudBrokerUrl, ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:']],
    [
      'localBroker.url',
      options.localBroker?.kind === 'external' ? options.localBroker.url : undefined,
      ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:'],
    ],
  ] as const) {
    if (url !== undefined) checkUrl(name, url, schemes, fail);
  }
  const broker = options.localBroker;
  if (broker?.kind !== 'embedded' && broker?.kind !== 'external')
    fail('localBroker.kind must be "embedded" or "external"');
  if (broker.kind === 'embedded') {
    for (const [name, port] of [
      ['mqttPort', broker.mqttPort],
      ['wsPort', broker.wsPort],
    ] as const) {
      if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535))
        fail(`${name} must be 0-65535`);
    }
  }
  if (options.routingScore !== undefined && !isScoreKind(options.routingScore))
    fail('routingScore must be maxprob, margin or entropy');
  if (
    options.routingThreshold !== undefined &&
    !(options.routingThreshold >= 0 && options.routingThreshold <= 1)
  ) {
    fail('routingThreshold must be in [0, 1]');
  }
  const positiveInts = [
    'modelVersion',
    'maxBatchSize',
    'maxQueueSize',
    'workers',
    'intraOpThreads',
    'cloudConnections',
  ] as const;
  for (const name of positiveInts) {
    const v = options[name];
    if (v !== undefined && (!Number.isInteger(v) || v < 1))
      fail(`${name} must be a positive integer, got ${v}`);
  }
  const durations = [
    'maxQueueDelayMs',
    'defaultDeadlineMs',
    'maxDeadlineMs',
    'replyMarginMs',
    'minCloudBudgetMs',
    'telemetryIntervalMs',
    'deviceListPollMs',
    'shutdownTimeoutMs',
  ] as const;
  for (const name of durations) {
    const v = options[name];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0))
      fail(`${name} must be a number of ms >= 0, got ${v}`);
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  const resolved = {
    ...AGENT_DEFAULTS,
    modelsDir: DEFAULT_MODELS_DIR,
    clock: systemClock,
    logger: silent,
    breaker: {},
    ...defined,
  } as ResolvedAgentOptions;
  if (resolved.telemetryIntervalMs < 100) fail('telemetryIntervalMs must be at least 100');
  if (resolved.deviceListPollMs > 0 && resolved.deviceListPollMs < 100)
    fail('deviceListPollMs must be 0 (no polling) or at least 100');
  if (resolved.defaultDeadlineMs > resolved.maxDeadlineMs)
    fail('defaultDeadlineMs must not exceed maxDeadlineMs');
  return Object.freeze(resolved);
}

function checkUrl(name: string, value: string, schemes: readonly string[], fail: (m: string) => never): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(`${name} is not a URL: ${JSON.stringify(value)}`);
  }
  if (!schemes.includes(url.protocol)) {
    fail(`${name} must use ${schemes.map((s) => `${s}//`).join(', ')}, got ${value}`);
  }
}

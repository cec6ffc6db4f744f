/** Options of `connectDevice`, their defaults and their validation (once, at connect time). */
import { type Clock, systemClock } from '@fogline/shared/clock';
import { isValidId } from '@fogline/shared/core/fabric/index';
import type { RoutingPolicy } from '@fogline/shared/core/routing/index';
import { FoglineError } from '@fogline/shared/errors';
import type { ModelRuntime, WebRuntimeOptions } from './runtime/model-runtime.ts';
import type { BackoffOptions } from './transport/backoff.ts';
import { DEFAULT_BACKOFF } from './transport/backoff.ts';
import type { ConnectionState } from './transport/mqtt-transport.ts';

export interface ConnectDeviceOptions {
  /** Broker URL: `mqtt://host:1883`, `ws://host:port/mqtt` (browsers: ws:// or wss:// only). */
  broker: string;
  deviceId: string;
  /** Device token (MQTT password, username = deviceId). Omit for a broker without authentication. */
  token?: string;
  /** The edge this device belongs to: requests go to `fogline/v1/edge/{edgeId}/infer`. */
  edgeId: string;
  /** Path or URL of the tiny ONNX model. Node default: the committed models/digits-tiny/1/model.onnx. */
  model?: string | URL;
  /** Escalation policy. Default: the `routing` of the config.json next to the model, else maxprob. */
  policy?: RoutingPolicy;
  /** 'auto' (default in Node: native, else WASM), 'node', 'web', or a ready ModelRuntime. */
  runtime?: 'auto' | 'node' | 'web' | ModelRuntime;
  /** onnxruntime-web settings (wasm file location, threads). */
  web?: WebRuntimeOptions;
  /** While disconnected: answer locally flagged degraded ('local', default) or hold requests ('queue'). */
  offline?: 'local' | 'queue';
  /** Offline queue bound (default 64); a request beyond it is answered locally, degraded. */
  queue?: { maxSize?: number };
  /** Deadline of an infer() call without its own, ms. Default 1000. */
  deadlineMs?: number;
  /** Less budget than this left after the local model → answer locally without asking. Default 5 ms. */
  minEscalationMs?: number;
  /** How long connectDevice waits for the first CONNACK before going on offline. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** MQTT keepalive, s. Default 30. */
  keepaliveSec?: number;
  /** Reconnect backoff (exponential with jitter). Default 250 ms doubling to 10 s. */
  reconnect?: Partial<BackoffOptions>;
  /** Model input shape with batch 1. Default [1, 1, 28, 28] (digits). */
  inputShape?: readonly number[];
  clock?: Clock;
  /** Called on every connection state change; `error` says why on 'refused'. */
  onStateChange?: (state: ConnectionState, error?: FoglineError) => void;
}

export interface DeviceSettings {
  readonly broker: string;
  readonly deviceId: string;
  readonly token: string | undefined;
  readonly edgeId: string;
  readonly offline: 'local' | 'queue';
  readonly maxQueued: number;
  readonly deadlineMs: number;
  readonly minEscalationMs: number;
  readonly connectTimeoutMs: number;
  readonly keepaliveSec: number;
  readonly backoff: BackoffOptions;
  readonly inputShape: readonly number[];
  readonly inputSize: number;
  readonly clock: Clock;
  readonly onStateChange: (state: ConnectionState, error?: FoglineError) => void;
}

const invalid = (message: string) => new FoglineError('INVALID_ARG', `connectDevice: ${message}`);

function positive(name: string, value: number | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw invalid(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${value}`);
  }
  return value;
}

export function resolveDeviceSettings(o: ConnectDeviceOptions): DeviceSettings {
  if (typeof o !== 'object' || o === null) throw invalid('options are required');
  if (typeof o.broker !== 'string' || !/^(mqtts?|wss?|tcp|ssl):\/\//.test(o.broker)) {
    throw invalid(
      `broker must be an mqtt://, mqtts://, ws:// or wss:// URL, got ${JSON.stringify(o.broker)}`,
    );
  }
  if (!isValidId(o.deviceId))
    throw invalid(`deviceId must be 1–64 chars of [A-Za-z0-9._-], got ${JSON.stringify(o.deviceId)}`);
  if (!isValidId(o.edgeId))
    throw invalid(`edgeId must be 1–64 chars of [A-Za-z0-9._-], got ${JSON.stringify(o.edgeId)}`);
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length === 0)) {
    throw invalid('token must be a non-empty string when given');
  }
  if (o.offline !== undefined && o.offline !== 'local' && o.offline !== 'queue') {
    throw invalid(`offline must be 'local' or 'queue', got ${JSON.stringify(o.offline)}`);
  }
  const inputShape = o.inputShape ?? [1, 1, 28, 28];
  if (
    !Array.isArray(inputShape) ||
    inputShape[0] !== 1 ||
    inputShape.some((d) => !Number.isInteger(d) || d < 1)
  ) {
    throw invalid(`inputShape must be positive integers with batch 1, got ${JSON.stringify(inputShape)}`);
  }
  const initialDelayMs = positive(
    'reconnect.initialDelayMs',
    o.reconnect?.initialDelayMs,
    DEFAULT_BACKOFF.initialDelayMs,
  );
  const maxDelayMs = positive('reconnect.maxDelayMs', o.reconnect?.maxDelayMs, DEFAULT_BACKOFF.maxDelayMs);
  return Object.freeze({
    broker: o.broker,
    deviceId: o.deviceId,
    token: o.token,
    edgeId: o.edgeId,
    offline: o.offline ?? 'local',
    maxQueued: positive('queue.maxSize', o.queue?.maxSize, 64, true),
    deadlineMs: positive('deadlineMs', o.deadlineMs, 1_000),
    minEscalationMs: positive('minEscalationMs', o.minEscalationMs, 5),
    connectTimeoutMs: positive('connectTimeoutMs', o.connectTimeoutMs, 5_000),
    keepaliveSec: positive('keepaliveSec', o.keepaliveSec, 30, true),
    backoff: Object.freeze({ initialDelayMs, maxDelayMs: Math.max(initialDelayMs, maxDelayMs) }),
    inputShape: Object.freeze([...inputShape]),
    inputSize: inputShape.reduce((a, b) => a * b, 1),
    clock: o.clock ?? systemClock,
    onStateChange: o.onStateChange ?? (() => {}),
  });
}

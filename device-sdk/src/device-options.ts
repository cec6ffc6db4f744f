/** Options of `connectDevice`, their defaults and their validation (once, at connect time). */

import type { ModelConfig, RoutingPolicy } from '@fogline/shared';
import {
  type BackoffOptions,
  type Clock,
  FoglineError,
  isValidId,
  nonEmptyString,
  oneOf,
  optionChecker,
  positive,
  positiveInt,
  RETRY_BACKOFF_DEFAULTS,
  type Rule,
  rule,
  systemClock,
  timerMs,
  urlList,
  urlsOf,
} from '@fogline/shared';
import type { PolicyEvent } from './device-policy.ts';
import { FEEDBACK_DEFAULTS } from './feedback.ts';
import {
  type DurableStoreOptions,
  type DurableStoreSettings,
  resolveDurableStore,
} from './offline/store-options.ts';
import type { ModelRuntime, WebRuntimeOptions } from './runtime/model-runtime.ts';
import { HISTOGRAM_DEFAULTS } from './score-histogram.ts';
import type { ConnectionState } from './transport/mqtt-transport.ts';

/** Reconnect waits by default: 250 ms doubling to 10 s, equal jitter (mqtt-transport.ts). */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ initialDelayMs: 250, maxDelayMs: 10_000 });

export interface ConnectDeviceOptions {
  /**
   * Broker URL: `mqtt://host:1883`, `ws://host:port/mqtt` (browsers: ws:// or wss:// only). Several
   * (a site with two edges, docs/device-sdk.md "Two edges"): the first is preferred, the device moves
   * to the next when its connection is lost and back to the first when that one answers again.
   */
  broker: string | readonly string[];
  deviceId: string;
  /** Device token (MQTT password, username = deviceId). Omit for a broker without authentication. */
  token?: string;
  /**
   * A CA certificate (PEM text) to trust for `mqtts://` / `wss://` besides the system CAs, for an edge
   * with a self-signed or private-CA certificate (`fogline certs dev`). Node only: a browser uses its
   * own trust store.
   */
  ca?: string;
  /**
   * The edge this device belongs to: requests go to `fogline/v1/edge/{edgeId}/infer`. With several
   * brokers: one id for all, or the id of each broker's edge, in the same order.
   */
  edgeId: string | readonly string[];
  /** With several brokers: while on a later one, how often the first is tried again, ms. Default 30000. */
  failbackMs?: number;
  /** Path or URL of the tiny ONNX model. Node default: the committed models/digits-tiny/1/model.onnx. */
  model?: string | URL;
  /**
   * The model's config (docs/model-repository.md), as an object: input and output tensors, output_kind,
   * preprocessing, labels, routing. Default: `<name>/config.json` for a model at
   * `<name>/<version>/model.onnx`; a model without one runs with its graph's own names (bare ONNX).
   */
  config?: ModelConfig | Record<string, unknown>;
  /**
   * Escalation policy. Default: the config's `routing`, else maxprob. The edge may replace it at run
   * time on its policy topic unless `pinPolicy` is true.
   */
  policy?: RoutingPolicy;
  /** Keep this device's policy whatever the edge publishes (its messages are refused, code 'pinned'). Default false. */
  pinPolicy?: boolean;
  /** Called when the edge's policy is applied or refused (docs/device-sdk.md "Policy from the edge"). */
  onPolicy?: (event: PolicyEvent) => void;
  /**
   * Take the model the edge announces (docs/device-sdk.md "Model updates"): download, check, swap
   * between requests; `device.on('model' | 'modelError', ...)` tells how it went. Default true; off
   * with a `runtime` object (the SDK cannot load another model into it).
   */
  modelUpdates?: boolean;
  /**
   * Node only: where a model update is downloaded (`<modelDir>/model.onnx`, with `model.onnx.partial`
   * while it comes), so that a download the link broke resumes on the next try, and a checked file is
   * not downloaded again; what is left of older versions is deleted (only these files of the directory
   * are touched). Default `<os tmpdir>/fogline-device-<deviceId>`. Browsers fetch the update whole, in
   * memory.
   */
  modelDir?: string;
  /**
   * Waits between tries of a model update whose download failed on the way (no answer, a broken body,
   * a deadline, HTTP 5xx): full jitter up to `initialDelayMs` doubled each try, capped at `maxDelayMs`.
   * Default 1 s doubling to 5 min.
   */
  modelRetry?: Partial<BackoffOptions>;
  /**
   * Score histograms for drift detection, sent when the model's config has a `drift` block for this
   * model and version (docs/device-sdk.md "Score histograms"): every `everyRequests` inferences (default
   * 500) or `everyMs` (default 10 s), whichever first. `false`: never.
   */
  driftHistogram?: { everyRequests?: number; everyMs?: number } | false;
  /** Seed of the audit sampling draws (docs/device-sdk.md "Audits"), for reproducible tests. Default: random. */
  auditSeed?: number;
  /**
   * The device's report budget: most reports per second and in a burst (docs/device-sdk.md "Report
   * budget"). Default 4/s, burst 16: below the edge broker's per-device report bucket (5/s, burst 20),
   * which drops what passes it; keep it below that bucket. Score histograms come first (one without
   * a token waits for the next, windows cut meanwhile merged into it), audits and feedback get the rest.
   */
  auditBudget?: { ratePerSec: number; burst: number };
  /**
   * Recent requests `device.feedback` can label (docs/device-sdk.md "Feedback"): the newest
   * `maxRequests` (default 1,000) answered within `maxAgeMs` (default 10 min); each keeps its input.
   * `false`: no window, feedback is a counted no-op.
   */
  feedbackWindow?: { maxRequests?: number; maxAgeMs?: number } | false;
  /** 'auto' (default in Node: native, else WASM), 'node', 'web', or a ready ModelRuntime. */
  runtime?: 'auto' | 'node' | 'web' | ModelRuntime;
  /** onnxruntime-web settings (wasm file location, threads). */
  web?: WebRuntimeOptions;
  /**
   * While disconnected: answer locally flagged degraded ('local', default), hold requests in memory
   * until their deadline ('queue'), or store and forward them through a durable queue on disk
   * (`{ store: 'file', dir, maxBytes, ttlMs, onAnswer }`, Node only; docs/device-sdk.md "Offline").
   */
  offline?: 'local' | 'queue' | DurableStoreOptions;
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
  /**
   * Input shape with batch 1, for a bare ONNX (no config) whose graph leaves dims open. Default: the
   * graph's fixed dims, else [1, 1, 28, 28] (digits). With a config, the config's shape holds.
   */
  inputShape?: readonly number[];
  clock?: Clock;
  /** Called on every connection state change; `error` says why on 'refused'. */
  onStateChange?: (state: ConnectionState, error?: FoglineError) => void;
}

/** One broker a device may use and the edge behind it. */
export interface DeviceBroker {
  readonly url: string;
  readonly edgeId: string;
}

export interface DeviceSettings {
  /** The brokers in order of preference (one, or a site's edges). */
  readonly brokers: readonly DeviceBroker[];
  readonly deviceId: string;
  readonly token: string | undefined;
  readonly ca: string | undefined;
  /** The preferred (first) broker's edge: the device's policy and model come from it. */
  readonly edgeId: string;
  readonly failbackMs: number;
  readonly offline: 'local' | 'queue';
  /** The durable store (`offline: { store: 'file', … }`); `offline` is then 'local' for in-flight requests. */
  readonly store: DurableStoreSettings | undefined;
  readonly maxQueued: number;
  readonly deadlineMs: number;
  readonly minEscalationMs: number;
  readonly connectTimeoutMs: number;
  readonly keepaliveSec: number;
  readonly backoff: BackoffOptions;
  /** The `inputShape` option, when given. */
  readonly inputShape: readonly number[] | undefined;
  readonly clock: Clock;
  readonly onStateChange: (state: ConnectionState, error?: FoglineError) => void;
  readonly pinPolicy: boolean;
  readonly onPolicy: (event: PolicyEvent) => void;
  readonly modelUpdates: boolean;
  /** The `modelDir` option, when given. */
  readonly modelDir: string | undefined;
  /** Waits between tries of a model update's download that failed on the way. */
  readonly modelRetry: BackoffOptions;
  /** When to send score histograms; false: never. */
  readonly driftHistogram: { readonly everyRequests: number; readonly everyMs: number } | false;
  readonly auditSeed: number | undefined;
  readonly auditBudget: { readonly ratePerSec: number; readonly burst: number } | undefined;
  /** Recent requests feedback can label; false: none. */
  readonly feedbackWindow: { readonly maxRequests: number; readonly maxAgeMs: number } | false;
}

/** Defaults of the optional fields of ConnectDeviceOptions. */
export const DEVICE_DEFAULTS = Object.freeze({
  offline: 'local' as const,
  maxQueued: 64,
  deadlineMs: 1_000,
  minEscalationMs: 5,
  connectTimeoutMs: 5_000,
  keepaliveSec: 30,
  failbackMs: 30_000,
  /** Input shape of a bare ONNX (no config) whose graph leaves its dims open: digits. */
  inputShape: Object.freeze([1, 1, 28, 28]),
});

/** What each option may be. */
export const DEVICE_RULES = Object.freeze({
  broker: urlList(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:']),
  deviceId: rule<string>('1–64 chars of [A-Za-z0-9._-]', isValidId),
  edgeId: rule<string | readonly string[]>(
    '1–64 chars of [A-Za-z0-9._-], or a list of them (one per broker)',
    (v) => (Array.isArray(v) ? v.length > 0 && v.every(isValidId) : isValidId(v)),
  ),
  failbackMs: timerMs(),
  token: nonEmptyString,
  modelDir: nonEmptyString,
  offline: oneOf(['local', 'queue']),
  deadlineMs: timerMs(),
  minEscalationMs: positive,
  connectTimeoutMs: timerMs(),
  keepaliveSec: positiveInt,
  inputShape: rule<readonly number[]>(
    'positive integers with batch 1',
    (v) => Array.isArray(v) && v[0] === 1 && v.every((d) => Number.isInteger(d) && d >= 1),
  ),
  queueMaxSize: positiveInt,
  ca: rule<string>(
    'PEM text of a certificate (-----BEGIN CERTIFICATE-----)',
    (v) => typeof v === 'string' && v.includes('-----BEGIN CERTIFICATE-----'),
  ),
  pinPolicy: rule<boolean>('true or false', (v) => typeof v === 'boolean'),
  modelUpdates: rule<boolean>('true or false', (v) => typeof v === 'boolean'),
  reconnectDelayMs: timerMs(),
  modelRetryDelayMs: timerMs(),
  histogramEveryRequests: positiveInt,
  histogramEveryMs: timerMs(),
  auditBudgetRate: positive,
  feedbackMaxRequests: positiveInt,
  feedbackMaxAgeMs: positive,
  auditBudgetBurst: positiveInt,
  onStateChange: rule<DeviceSettings['onStateChange']>('a function', (v) => typeof v === 'function'),
  onPolicy: rule<DeviceSettings['onPolicy']>('a function', (v) => typeof v === 'function'),
  auditSeed: rule<number>(
    'an integer in [0, 2^32)',
    (v) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 32,
  ),
} satisfies Record<string, Rule<unknown>>);

const check = optionChecker('connectDevice');

export function resolveDeviceSettings(o: ConnectDeviceOptions): DeviceSettings {
  if (typeof o !== 'object' || o === null) {
    throw new FoglineError('INVALID_ARG', 'connectDevice: options are required');
  }
  const r = DEVICE_RULES;
  const d = DEVICE_DEFAULTS;
  /** The given value, checked, or the default. */
  const or = <T>(field: string, value: T | undefined, rule: Rule<T>, fallback: T): T =>
    value === undefined ? fallback : check(field, value, rule);
  const inputShape = o.inputShape === undefined ? undefined : check('inputShape', o.inputShape, r.inputShape);
  const initialDelayMs = or(
    'reconnect.initialDelayMs',
    o.reconnect?.initialDelayMs,
    r.reconnectDelayMs,
    DEFAULT_BACKOFF.initialDelayMs,
  );
  const maxDelayMs = or(
    'reconnect.maxDelayMs',
    o.reconnect?.maxDelayMs,
    r.reconnectDelayMs,
    DEFAULT_BACKOFF.maxDelayMs,
  );
  const retryInitialMs = or(
    'modelRetry.initialDelayMs',
    o.modelRetry?.initialDelayMs,
    r.modelRetryDelayMs,
    RETRY_BACKOFF_DEFAULTS.initialDelayMs,
  );
  const retryMaxMs = or(
    'modelRetry.maxDelayMs',
    o.modelRetry?.maxDelayMs,
    r.modelRetryDelayMs,
    RETRY_BACKOFF_DEFAULTS.maxDelayMs,
  );
  const brokers = brokersOf(check('broker', o.broker, r.broker), check('edgeId', o.edgeId, r.edgeId));
  return Object.freeze({
    brokers,
    deviceId: check('deviceId', o.deviceId, r.deviceId),
    token: o.token === undefined ? undefined : check('token', o.token, r.token),
    ca: o.ca === undefined ? undefined : check('ca', o.ca, r.ca),
    edgeId: brokers[0]!.edgeId,
    failbackMs: or('failbackMs', o.failbackMs, r.failbackMs, d.failbackMs),
    offline: typeof o.offline === 'object' ? 'local' : or('offline', o.offline, r.offline, d.offline),
    store: typeof o.offline === 'object' ? resolveDurableStore(o.offline, check) : undefined,
    maxQueued: or('queue.maxSize', o.queue?.maxSize, r.queueMaxSize, d.maxQueued),
    deadlineMs: or('deadlineMs', o.deadlineMs, r.deadlineMs, d.deadlineMs),
    minEscalationMs: or('minEscalationMs', o.minEscalationMs, r.minEscalationMs, d.minEscalationMs),
    connectTimeoutMs: or('connectTimeoutMs', o.connectTimeoutMs, r.connectTimeoutMs, d.connectTimeoutMs),
    keepaliveSec: or('keepaliveSec', o.keepaliveSec, r.keepaliveSec, d.keepaliveSec),
    backoff: Object.freeze({ initialDelayMs, maxDelayMs: Math.max(initialDelayMs, maxDelayMs) }),
    inputShape: inputShape && Object.freeze([...inputShape]),
    clock: o.clock ?? systemClock,
    onStateChange: or('onStateChange', o.onStateChange, r.onStateChange, () => {}),
    pinPolicy: or('pinPolicy', o.pinPolicy, r.pinPolicy, false),
    onPolicy: or('onPolicy', o.onPolicy, r.onPolicy, () => {}),
    modelUpdates: or('modelUpdates', o.modelUpdates, r.modelUpdates, true),
    modelDir: o.modelDir === undefined ? undefined : check('modelDir', o.modelDir, r.modelDir),
    modelRetry: Object.freeze({
      initialDelayMs: retryInitialMs,
      maxDelayMs: Math.max(retryInitialMs, retryMaxMs),
    }),
    driftHistogram:
      o.driftHistogram === false
        ? false
        : Object.freeze({
            everyRequests: or(
              'driftHistogram.everyRequests',
              o.driftHistogram?.everyRequests,
              r.histogramEveryRequests,
              HISTOGRAM_DEFAULTS.everyRequests,
            ),
            everyMs: or(
              'driftHistogram.everyMs',
              o.driftHistogram?.everyMs,
              r.histogramEveryMs,
              HISTOGRAM_DEFAULTS.everyMs,
            ),
          }),
    auditSeed: o.auditSeed === undefined ? undefined : check('auditSeed', o.auditSeed, r.auditSeed),
    auditBudget:
      o.auditBudget === undefined
        ? undefined
        : Object.freeze({
            ratePerSec: check('auditBudget.ratePerSec', o.auditBudget.ratePerSec, r.auditBudgetRate),
            burst: check('auditBudget.burst', o.auditBudget.burst, r.auditBudgetBurst),
          }),
    feedbackWindow:
      o.feedbackWindow === false
        ? false
        : Object.freeze({
            maxRequests: or(
              'feedbackWindow.maxRequests',
              o.feedbackWindow?.maxRequests,
              r.feedbackMaxRequests,
              FEEDBACK_DEFAULTS.maxRequests,
            ),
            maxAgeMs: or(
              'feedbackWindow.maxAgeMs',
              o.feedbackWindow?.maxAgeMs,
              r.feedbackMaxAgeMs,
              FEEDBACK_DEFAULTS.maxAgeMs,
            ),
          }),
  });
}

/** Pairs each broker URL with its edge id: one id for all, or one per URL. */
function brokersOf(
  broker: string | readonly string[],
  edgeId: string | readonly string[],
): readonly DeviceBroker[] {
  const urls = urlsOf(broker);
  if (typeof edgeId !== 'string' && edgeId.length !== urls.length) {
    throw new FoglineError(
      'INVALID_ARG',
      `connectDevice: edgeId must be one id or one per broker (${urls.length}), got ${edgeId.length}`,
      { details: { field: 'edgeId' } },
    );
  }
  return Object.freeze(
    urls.map((url, i) => Object.freeze({ url, edgeId: typeof edgeId === 'string' ? edgeId : edgeId[i]! })),
  );
}

/** The connection part of the settings, as the MQTT transport takes it. */
export function connectionOf(s: DeviceSettings) {
  return {
    brokers: s.brokers,
    failbackMs: s.failbackMs,
    clientId: s.deviceId,
    ...(s.token === undefined ? {} : { token: s.token }),
    ...(s.ca === undefined ? {} : { ca: s.ca }),
    connectTimeoutMs: s.connectTimeoutMs,
    keepaliveSec: s.keepaliveSec,
    backoff: s.backoff,
  };
}

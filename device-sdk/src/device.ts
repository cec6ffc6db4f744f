/**
 * A connected device (docs/design.md "One inference, end to end"): runs the tiny model, answers what it is
 * sure of, passes the rest to its edge over MQTT and always answers before the deadline — with the
 * edge's reply, or locally flagged `degraded` with the reason in `fallback`.
 */
import {
  argmax,
  decide,
  type ErrorCode,
  encodeFabricRequest,
  FoglineError,
  type ResolvedPolicy,
  readFabricReply,
  scoreOf,
  softmax,
  type Tier,
  topics,
} from '@fogline/shared';
import type { DeviceSettings } from './device-options.ts';
import { Escalations, type Outcome } from './escalations.ts';
import type { ModelRuntime } from './runtime/model-runtime.ts';
import { type ConnectionState, MqttTransport } from './transport/mqtt-transport.ts';

export interface InferOptions {
  /** Latency budget for this call, ms (default: the device's `deadlineMs`). */
  deadlineMs?: number;
}

export interface InferResult {
  outputs: { logits: Float32Array };
  /** argmax of the logits. */
  label: number;
  /** Which tier's model produced `outputs`. */
  tier: Tier;
  /** Routing score of the answering tier (its policy's score kind). */
  score: number;
  /** device = local model time; edge/cloud as reported by the edge; total = the whole call. */
  latencyMs: { device: number; edge?: number; cloud?: number; total: number };
  /** True when a lower tier answered only because a higher one could not be used in time. */
  degraded: boolean;
  /** e.g. "digits-tiny:1", or the edge's "digits-mid:1,digits-large:1". */
  modelVersions: string;
  /** Why the device answered itself although its policy wanted to escalate. */
  fallback?: { code: ErrorCode; message: string };
}

export interface DeviceStats {
  /** Answered by the device because it was confident (or had no budget to ask). */
  local: number;
  /** Sent (or queued) for the edge. */
  escalated: number;
  /** Escalations answered by the edge or the cloud. */
  answeredUpstream: number;
  /** Escalations answered locally, degraded (deadline, offline, error reply, queue full). */
  fallbacks: number;
}

export interface DeviceParts {
  settings: DeviceSettings;
  runtime: ModelRuntime;
  policy: ResolvedPolicy;
  modelVersion: string;
}

export class Device {
  readonly deviceId: string;
  readonly edgeId: string;
  readonly policy: ResolvedPolicy;
  readonly #settings: DeviceSettings;
  readonly #runtime: ModelRuntime;
  readonly #modelVersion: string;
  readonly #transport: MqttTransport;
  readonly #escalations: Escalations;
  readonly #stats: DeviceStats = { local: 0, escalated: 0, answeredUpstream: 0, fallbacks: 0 };
  readonly #idPrefix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  #nextId = 0;
  #refusal: FoglineError | undefined;
  #closed = false;

  constructor(parts: DeviceParts) {
    const { settings } = parts;
    this.#settings = settings;
    this.#runtime = parts.runtime;
    this.#modelVersion = parts.modelVersion;
    this.policy = parts.policy;
    this.deviceId = settings.deviceId;
    this.edgeId = settings.edgeId;
    const inferTopic = topics.infer(settings.edgeId);
    this.#escalations = new Escalations({
      clock: settings.clock,
      offline: settings.offline,
      maxQueued: settings.maxQueued,
      minEscalationMs: settings.minEscalationMs,
      sender: {
        isOnline: () => this.#transport.state === 'online',
        send: (payload) => this.#transport.publish(inferTopic, payload),
      },
    });
    this.#transport = new MqttTransport({
      url: settings.broker,
      clientId: settings.deviceId,
      ...(settings.token === undefined ? {} : { token: settings.token }),
      replyTopic: topics.reply(settings.deviceId),
      connectTimeoutMs: settings.connectTimeoutMs,
      keepaliveSec: settings.keepaliveSec,
      backoff: settings.backoff,
      onReply: (payload) => {
        const reply = readFabricReply(payload);
        if (reply) this.#escalations.onReply(reply);
      },
      onStateChange: (state, error) => {
        if (state === 'online') this.#escalations.onOnline();
        if (state === 'offline') this.#escalations.onOffline();
        if (state === 'refused') {
          this.#refusal = error;
          this.#escalations.onOffline();
        }
        settings.onStateChange(state, error);
      },
    });
  }

  /** Connection to the broker: 'online' once subscribed to its reply topic. */
  get state(): ConnectionState {
    return this.#transport.state;
  }

  /** Why the broker refused this device, if it did (then every escalation falls back locally). */
  get refusal(): FoglineError | undefined {
    return this.#refusal;
  }

  stats(): DeviceStats & { queued: number; inFlight: number } {
    return { ...this.#stats, queued: this.#escalations.queued, inFlight: this.#escalations.inFlight };
  }

  /** Resolves after the first connection attempt (online or offline); rejects when refused. */
  ready(): Promise<void> {
    return this.#transport.ready();
  }

  async infer(input: Float32Array, options: InferOptions = {}): Promise<InferResult> {
    if (this.#closed) throw new FoglineError('UNAVAILABLE', `device "${this.deviceId}" is closed`);
    this.#checkInput(input);
    const image = Float32Array.from(input); // the caller may reuse its array while a request is queued
    const deadlineMs = options.deadlineMs ?? this.#settings.deadlineMs;
    if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs <= 0) {
      throw new FoglineError('INVALID_ARG', `deadlineMs must be a positive number, got ${deadlineMs}`);
    }
    const { clock } = this.#settings;
    const start = clock.now();
    const logits = await this.#runtime.run(image);
    const deviceMs = clock.now() - start;
    const score = scoreOf(this.policy.score, softmax(logits));
    const local = (degraded: boolean, fallback?: { code: ErrorCode; message: string }): InferResult => {
      const result: InferResult = {
        outputs: { logits },
        label: argmax(logits),
        tier: 'device',
        score,
        latencyMs: { device: deviceMs, total: clock.now() - start },
        degraded,
        modelVersions: this.#modelVersion,
      };
      if (fallback) result.fallback = fallback;
      return result;
    };
    const remainingMs = deadlineMs - (clock.now() - start);
    const decision = decide(score, this.policy, {
      remainingMs,
      minEscalationMs: this.#settings.minEscalationMs,
    });
    if (decision !== 'escalate') {
      this.#stats.local++;
      return local(false);
    }
    this.#stats.escalated++;
    if (this.#refusal) {
      this.#stats.fallbacks++;
      return local(true, { code: this.#refusal.code, message: this.#refusal.message });
    }
    const id = `${this.#idPrefix}-${this.#nextId++}`;
    const outcome: Outcome = await this.#escalations.start(id, remainingMs, (budgetMs) =>
      encodeFabricRequest({
        id,
        replyTo: topics.reply(this.deviceId),
        deadlineMs: budgetMs,
        deviceScore: score,
        input: { name: 'image', datatype: 'FP32', shape: this.#settings.inputShape, data: image },
      }),
    );
    if (outcome.kind === 'fallback') {
      this.#stats.fallbacks++;
      return local(true, { code: outcome.code, message: outcome.message });
    }
    this.#stats.answeredUpstream++;
    const { reply } = outcome;
    const latencyMs: InferResult['latencyMs'] = { device: deviceMs, total: clock.now() - start };
    if (reply.edgeMs !== undefined) latencyMs.edge = reply.edgeMs;
    if (reply.cloudMs !== undefined) latencyMs.cloud = reply.cloudMs;
    return {
      outputs: { logits: reply.logits },
      label: argmax(reply.logits),
      tier: reply.tier,
      score: reply.score,
      latencyMs,
      degraded: reply.degraded,
      modelVersions: reply.modelVersions ?? '',
    };
  }

  /** Answers every pending request locally (degraded), disconnects cleanly, releases the model. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#escalations.settleAll('UNAVAILABLE', 'device closed before the edge replied');
    await this.#transport.close();
    await this.#runtime.close();
  }

  #checkInput(input: Float32Array): void {
    const { inputSize, inputShape } = this.#settings;
    if (!(input instanceof Float32Array) || input.length !== inputSize) {
      const got = input instanceof Float32Array ? `${input.length} values` : typeof input;
      throw new FoglineError(
        'INVALID_ARG',
        `input must be a Float32Array of ${inputSize} values (${inputShape.slice(1).join('x')}), got ${got}`,
      );
    }
    for (let i = 0; i < input.length; i++) {
      if (!Number.isFinite(input[i]))
        throw new FoglineError('INVALID_ARG', `input[${i}] is not a finite number`);
    }
  }
}

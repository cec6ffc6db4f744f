/**
 * A connected device (docs/design.md "One inference, end to end"): runs the tiny model, answers what it is
 * sure of, passes the rest to its edge over MQTT and always answers before the deadline — with the
 * edge's reply, or locally flagged `degraded` with the reason in `fallback`.
 */
import {
  type AuditBody,
  DEFAULT_AUDIT_RATE,
  type DeviceReport,
  decide,
  type ErrorCode,
  encodeDeviceReport,
  encodeFabricRequest,
  FoglineError,
  fromUnknown,
  type ModelConfig,
  readFabricReply,
  scoreOf,
  type Tensor,
  type TensorDatatype,
  topics,
  toRealValues,
} from '@fogline/shared';
import {
  type Answered,
  answerPart,
  type Classified,
  classify,
  classifyReply,
  type InferResult,
  upstreamResult,
} from './answer.ts';
import { AuditSampler, auditBodyOf } from './audit-sampler.ts';
import { CorrectionInbox } from './corrections.ts';
import { DeviceEventHub, type DeviceEvents } from './device-events.ts';
import { type DeviceInput, inputTensor } from './device-input.ts';
import type { DeviceModel } from './device-model.ts';
import { connectionOf, type DeviceSettings } from './device-options.ts';
import { type DevicePolicy, PolicyInEffect } from './device-policy.ts';
import { type DeviceStats, type InferOptions, readInferOptions } from './device-stats.ts';
import { Escalations, type Outcome } from './escalations.ts';
import { classIndexOf, FeedbackWindow } from './feedback.ts';
import { type LoadedModel, ModelSlot } from './model-slot.ts';
import { type ModelFiles, ModelUpdater, type UpdatedModel } from './model-updater.ts';
import type { DurableQueue, StoreAndForward } from './offline/store-and-forward.ts';
import { forwardFrom } from './offline/stored-answer.ts';
import { ReportLane } from './report-lane.ts';
import type { ModelRuntime } from './runtime/model-runtime.ts';
import { type ScoreHistogram, scoreHistogramOf } from './score-histogram.ts';
import { type ConnectionState, MqttTransport } from './transport/mqtt-transport.ts';

export interface DeviceParts {
  settings: DeviceSettings;
  runtime: ModelRuntime;
  model: DeviceModel;
  policy: DevicePolicy;
  modelVersion: string;
  /** Loads another model for an update (absent: no updates, e.g. with a `runtime` object). */
  load?: ConstructorParameters<typeof ModelUpdater>[0]['load'];
  files?: ModelFiles; // Node: updates downloaded resumably into `modelDir`
  store?: DurableQueue; // with `offline: { store: 'file' }` (Node)
}

export type { DeviceStats, InferOptions } from './device-stats.ts';

export class Device {
  readonly deviceId: string;
  readonly edgeId: string;
  readonly #settings: DeviceSettings;
  readonly #slot: ModelSlot;
  readonly #updater: ModelUpdater | undefined;
  readonly #events = new DeviceEventHub();
  readonly #transport: MqttTransport;
  readonly #escalations: Escalations;
  readonly #durable: StoreAndForward | undefined;
  readonly #policy: PolicyInEffect;
  /** Score histograms for drift detection; undefined without a drift block for this model. */
  #histogram: ScoreHistogram | undefined;
  /** Audits, feedback, histograms and `report` within one budget: histograms first. */
  readonly #reports: ReportLane;
  readonly #audits: AuditSampler;
  /** Recent requests `feedback` can label (none kept when the `feedbackWindow` option is false). */
  readonly #feedback: FeedbackWindow;
  readonly #corrections: CorrectionInbox;
  readonly #stats = { local: 0, escalated: 0, answeredUpstream: 0, fallbacks: 0 };
  readonly #idPrefix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  #nextId = 0;
  /** Classes the model scores (its output's length), known from the first answer. */
  #classes: number | undefined;
  #refusal: FoglineError | undefined;
  #closed = false;

  constructor(parts: DeviceParts) {
    const { settings } = parts;
    this.#settings = settings;
    this.#slot = new ModelSlot({
      runtime: parts.runtime,
      model: parts.model,
      modelVersion: parts.modelVersion,
    });
    this.deviceId = settings.deviceId;
    this.edgeId = settings.edgeId;
    this.#policy = new PolicyInEffect(parts.policy, {
      edgeId: settings.edgeId,
      model: parts.modelVersion,
      pinned: settings.pinPolicy,
      onEvent: (event) => this.#events.call('onPolicy', () => settings.onPolicy(event)),
    });
    const { load, files } = parts;
    const current = () => this.#slot.current.modelVersion;
    const swap = (next: UpdatedModel) => this.#swap(next);
    const events = this.#events;
    this.#updater =
      load && settings.modelUpdates
        ? new ModelUpdater({ settings, current, load, swap, events, ...(files && { files }) })
        : undefined;
    // Every report: QoS 0, none once closed (audits and feedback count their own).
    const send = (report: DeviceReport) =>
      !this.#closed &&
      this.#transport.publishAtMostOnce(topics.report(this.deviceId), encodeDeviceReport(report));
    const { auditSeed: seed, auditBudget: budget, clock } = settings;
    this.#reports = new ReportLane({ budget, clock, publish: send });
    this.#histogram = scoreHistogramOf(this.#slot.current, settings, this.#reports.histogram);
    const takeBudget = () => this.#reports.trySpare();
    this.#audits = new AuditSampler({ seed, takeBudget, send });
    this.#feedback = new FeedbackWindow({
      ...(settings.feedbackWindow || { maxRequests: 0, maxAgeMs: 0 }),
      clock,
      takeBudget,
      send,
    });
    this.#corrections = new CorrectionInbox({ deviceId: this.deviceId, config: parts.model.config });
    this.#corrections.listen((c) => this.#events.emit('correction', c));
    const sender = {
      isOnline: () => this.#transport.state === 'online',
      // To the edge behind the broker in use (a site's second edge after a failover).
      send: (payload: Uint8Array) =>
        this.#transport.publish(topics.infer(this.#transport.broker.edgeId), payload),
    };
    const { offline, maxQueued, minEscalationMs } = settings;
    this.#escalations = new Escalations({ clock, offline, maxQueued, minEscalationMs, sender });
    const labels = () => this.#slot.current.model.config.labels;
    this.#durable = forwardFrom(parts.store, sender, settings.store, labels, events);
    this.#transport = new MqttTransport({
      ...connectionOf(settings),
      replyTopic: topics.reply(settings.deviceId),
      policyTopic: this.#policy.topic,
      onPolicy: (payload) => this.#policy.receive(payload),
      ...(this.#updater && { modelTopic: this.#updater.topic }),
      onModelManifest: (payload) => this.#updater?.receive(payload),
      correctionTopic: topics.correction(settings.deviceId),
      onCorrection: (payload) => this.#corrections.receive(payload),
      onReply: (payload) => {
        const reply = readFabricReply(payload);
        if (reply && !this.#durable?.onReply(reply)) this.#escalations.onReply(reply);
      },
      onStateChange: (state, error) => {
        if (state === 'online') this.#escalations.onOnline();
        this.#durable?.onStateChange(state);
        if (state === 'offline') this.#escalations.onOffline();
        if (state === 'refused') {
          this.#refusal = error;
          this.#escalations.onOffline();
        }
        this.#events.call('onStateChange', () => settings.onStateChange(state, error));
      },
    });
  }

  /**
   * The model config in effect: the model's config.json, the `config` option, or (bare ONNX) one
   * derived from the graph. `inputs[0]` is what `infer` takes, `labels` name the classes.
   */
  get config(): ModelConfig {
    return this.#slot.current.model.config;
  }

  /** `name:version` of the model answering now (it changes when the edge serves another). */
  get model(): string {
    return this.#slot.current.modelVersion;
  }

  /** `model`, `modelError`, `correction`, `callbackError` (docs/device-sdk.md); returns the removal. */
  on<E extends keyof DeviceEvents>(event: E, listener: (e: DeviceEvents[E]) => void): () => void {
    return this.#events.on(event, listener);
  }

  /** Resolves once no model update is running. */
  modelUpdatesIdle(): Promise<void> {
    return this.#updater?.idle() ?? Promise.resolve();
  }

  /**
   * The routing policy in effect and where it came from: the `policy` option, the model's config, the
   * default, or the edge (`edgeVersion`), which may replace it at run time (docs/device-sdk.md).
   */
  get policy(): DevicePolicy {
    return this.#policy.current;
  }

  /** The broker URL in use (or being connected to): of several, the first is preferred. */
  get broker(): string {
    return this.#transport.broker.url;
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
    return {
      ...this.#stats,
      ...this.#reports.counts,
      audits: this.#audits.counts,
      feedback: this.#feedback.counts,
      corrections: this.#corrections.counts,
      ...(this.#durable && { store: this.#durable.counts() }),
      callbackErrors: this.#events.callbackErrors,
      queued: this.#escalations.queued,
      inFlight: this.#escalations.inFlight,
    };
  }

  /** Resolves after the first connection attempt (online or offline); rejects when refused. */
  ready(): Promise<void> {
    return this.#transport.ready();
  }

  /**
   * Classifies one input: the prepared real values of the model input (`Float32Array` of
   * `config.inputs[0]`'s element count), or raw 8-bit pixels `{ image: { data, width, height, channels } }`
   * prepared per the config's `preprocessing`. Answers locally or from the edge/cloud, always by the deadline.
   */
  async infer(input: DeviceInput, options: InferOptions = {}): Promise<InferResult> {
    if (this.#closed) throw new FoglineError('UNAVAILABLE', `device "${this.deviceId}" is closed`);
    // A fresh tensor: the caller may reuse its array while a request is queued (and its audit is built).
    const loaded = this.#slot.current;
    const tensor = inputTensor(input, loaded.model);
    const { deadlineMs, traceparent } = readInferOptions(options, this.#settings.deadlineMs);
    const id = `${this.#idPrefix}-${this.#nextId++}`;
    const answered = await this.#answer(id, tensor, deadlineMs, loaded, traceparent);
    const rate = this.#policy.current.auditRate ?? DEFAULT_AUDIT_RATE;
    const time = Date.now();
    this.#classes = answered.ownValues.length;
    const quantization = loaded.model.input.quantization;
    const model = loaded.modelVersion;
    const body = (): AuditBody =>
      auditBodyOf({ ...answered, input: tensor, quantization, model, rate, time });
    this.#audits.consider(rate, body);
    this.#feedback.remember(id, body);
    return answered.result;
  }

  /**
   * The application's true class of a request this device answered (docs/device-sdk.md "Feedback"):
   * `label` is a class index or one of the config's `labels`. Sent later on the report lane, within
   * the audit budget; the cloud stores it as ground truth. Returns false, and counts it, when the
   * request is not in the recent-request window (unknown, too old, or `feedbackWindow: false`) or
   * already has feedback. INVALID_ARG for a label the model does not have or a request id that is
   * not a string; UNAVAILABLE once closed.
   */
  feedback(requestId: string, label: number | string): boolean {
    if (this.#closed) throw new FoglineError('UNAVAILABLE', `device "${this.deviceId}" is closed`);
    if (typeof requestId !== 'string' || requestId.length === 0) {
      throw new FoglineError('INVALID_ARG', 'feedback: requestId must be an InferResult.requestId');
    }
    // Before the first answer nothing can be labelled: only the label's form is checked then.
    const index = classIndexOf(label, this.#classes ?? Number.MAX_SAFE_INTEGER, this.config.labels);
    return this.#feedback.give(requestId, index);
  }

  async #answer(
    id: string,
    tensor: Tensor<TensorDatatype>,
    deadlineMs: number,
    loaded: LoadedModel,
    traceparent: string | undefined,
  ): Promise<Answered> {
    const { clock } = this.#settings;
    const { config, output, input: inputSpec } = loaded.model;
    const start = clock.now();
    const values = toRealValues(await this.#slot.run(loaded, tensor, output), output);
    const deviceMs = clock.now() - start;
    const own = classify(values, config.output_kind, config.labels);
    // One policy per request, even if the edge replaces it meanwhile.
    const policy = this.#policy.current;
    const score = scoreOf(policy.score, own.probabilities);
    const counted = this.#histogram;
    counted?.add(counted.score === policy.score ? score : scoreOf(counted.score, own.probabilities));
    const answered = (result: InferResult): Answered => ({ result, ownValues: values, ownScore: score });
    const local = (degraded: boolean, fallback?: { code: ErrorCode; message: string }): Answered => {
      const result: InferResult = {
        requestId: id,
        ...answerPart(own),
        tier: 'device',
        score,
        latencyMs: { device: deviceMs, total: clock.now() - start },
        degraded,
        modelVersions: loaded.modelVersion,
      };
      if (fallback) result.fallback = fallback;
      return answered(result);
    };
    const remainingMs = deadlineMs - (clock.now() - start);
    const decision = decide(score, policy, {
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
    // The input as the model consumes it, with its quantization when it has one (docs/device-sdk.md "Inputs").
    const outcome: Outcome = await this.#escalate(id, remainingMs, (budgetMs) =>
      encodeFabricRequest({
        id,
        replyTo: topics.reply(this.deviceId),
        deadlineMs: budgetMs,
        deviceScore: score,
        input: tensor,
        ...(inputSpec.quantization && { inputQuantization: inputSpec.quantization }),
        ...(traceparent !== undefined && { traceparent }),
      }),
    );
    if (outcome.kind === 'fallback') {
      this.#stats.fallbacks++;
      return local(true, { code: outcome.code, message: outcome.message });
    }
    const { reply } = outcome;
    let answer: Classified;
    try {
      answer = classifyReply(reply.logits, reply.outputKind, values.length, config.labels);
    } catch (err) {
      this.#stats.fallbacks++;
      const error = fromUnknown(err);
      return local(true, { code: error.code, message: `unusable reply from the edge: ${error.message}` });
    }
    this.#stats.answeredUpstream++;
    return answered(upstreamResult(id, answer, reply, { device: deviceMs, total: clock.now() - start }));
  }

  /** To the durable store while the edge is unreachable or it holds older requests, else to the edge. */
  #escalate(id: string, remainingMs: number, encode: (budgetMs: number) => Uint8Array): Promise<Outcome> {
    const durable = this.#durable;
    if (durable?.takes(this.#transport.state)) return durable.enqueue(id, remainingMs, encode(remainingMs));
    return this.#escalations.start(id, remainingMs, encode);
  }

  /**
   * Sends a report to the edge (docs/device-sdk.md "Reports"): the lowest-priority traffic, QoS 0,
   * never queued; the edge's broker drops reports over its per-device report bucket. It takes a token
   * of the device's report budget when there is one (audits yield). Returns whether it was handed to
   * the broker. An invalid report is INVALID_ARG.
   */
  report(report: DeviceReport): boolean {
    if (this.#closed) throw new FoglineError('UNAVAILABLE', `device "${this.deviceId}" is closed`);
    return this.#reports.report(report);
  }

  /**
   * Whether this device sends score histograms (its config's `drift` block is for its model and
   * version, and the `driftHistogram` option allows it).
   */
  get sendsHistograms(): boolean {
    return this.#histogram !== undefined;
  }

  /** Answers every pending request locally (degraded), disconnects cleanly, releases the model. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#reports.close(); // histograms waiting for the budget, and the last one, go now (best effort)
    this.#histogram?.close();
    this.#updater?.close();
    this.#closed = true;
    this.#escalations.settleAll('UNAVAILABLE', 'device closed before the edge replied');
    this.#durable?.close();
    await this.#transport.close();
    await this.#slot.close();
  }

  /** A checked update in for the next request: its policy, and histograms only for a model they fit. */
  #swap(next: UpdatedModel): void {
    this.#slot.swap(next);
    this.#policy.switchModel(next.modelVersion, next.policy);
    this.#histogram?.close();
    this.#histogram = scoreHistogramOf(next, this.#settings, this.#reports.histogram);
  }
}

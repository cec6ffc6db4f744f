/**
 * Handles one message of the infer topic, end to end (DESIGN.md "One inference, end to end", steps
 * 3–4): decode and validate, run the mid model through the batcher, score, then answer locally,
 * escalate to the cloud, or answer locally flagged degraded when the cloud is unavailable. Every
 * message gets exactly one reply (answer or error) unless it has no readable reply topic, in which
 * case it is dropped and counted. Nothing here throws to the caller.
 */
import type { Clock } from '@fogline/shared/clock';
import { findTensor } from '@fogline/shared/codec';
import {
  Deadline,
  encodeAnswer,
  encodeErrorReply,
  type FabricReplyParameters,
  type FabricRequest,
  type FabricRequestLimits,
  logitsOutput,
  RequestRejection,
  readFabricRequest,
  topics,
} from '@fogline/shared/core/fabric/index';
import { FoglineError, fromUnknown, isFoglineError } from '@fogline/shared/errors';
import type { Tensor } from '@fogline/shared/oip';
import { scoreOf, softmax } from '@fogline/shared/scores';
import type { CloudAnswer } from './cloud-client.ts';
import type { CloudTier } from './cloud-tier.ts';
import type { EdgeModel } from './edge-model.ts';
import type { EdgeTelemetry } from './edge-telemetry.ts';
import { decideEscalation, type RoutingThreshold } from './escalation-policy.ts';

export interface InferHandlerOptions extends FabricRequestLimits {
  readonly model: EdgeModel;
  readonly routing: RoutingThreshold;
  readonly cloud: CloudTier | undefined;
  readonly telemetry: EdgeTelemetry;
  readonly clock: Clock;
  /** Publishes a reply (QoS 1) on the local broker. */
  readonly publish: (topic: string, payload: Uint8Array) => Promise<void>;
  /** Budget held back for publishing the reply, ms. */
  readonly replyMarginMs: number;
  readonly onPublishError?: (err: unknown) => void;
}

interface LocalAnswer {
  readonly logits: Float32Array;
  readonly score: number;
  readonly edgeMs: number;
}

export class InferHandler {
  private active = 0;
  private accepting = true;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: InferHandlerOptions) {}

  /** Requests received and not yet answered. */
  get inFlight(): number {
    return this.active;
  }

  /** From now on every request is answered UNAVAILABLE at once (graceful shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** Resolves when no request is in flight, or after `timeoutMs`; true when idle. */
  async waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.active === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * Serves one message. `senderId` (when the broker names the publisher) must own the reply topic:
   * a device may not direct the edge's answers at another device.
   */
  async handle(payload: Uint8Array, senderId?: string): Promise<void> {
    const { telemetry, clock } = this.options;
    const receivedAt = clock.now();
    telemetry.counts.received++;
    this.active++;
    try {
      await this.serve(payload, receivedAt, senderId);
    } catch (err) {
      // serve() answers every failure itself; reaching here means even the reply could not be sent.
      this.options.onPublishError?.(err);
    } finally {
      telemetry.totalLatency.observe(clock.now() - receivedAt);
      this.active--;
      if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async serve(payload: Uint8Array, receivedAt: number, senderId: string | undefined): Promise<void> {
    const ownTopic = senderId === undefined ? undefined : topics.reply(senderId);
    let request: FabricRequest;
    try {
      request = readFabricRequest(payload, this.options);
    } catch (err) {
      const rejection = RequestRejection.of(err);
      if (rejection.unaddressed) return this.options.telemetry.recordDrop('malformed-no-reply-to');
      const replyTo = ownTopic ?? rejection.replyTo;
      if (replyTo === undefined) return this.options.telemetry.recordDrop('malformed-no-reply-to');
      return this.replyError(replyTo, rejection.id, rejection.error);
    }
    if (ownTopic !== undefined && request.replyTo !== ownTopic) {
      const denied = new FoglineError(
        'PERMISSION_DENIED',
        `reply_to must be your own reply topic ${ownTopic}`,
      );
      return this.replyError(ownTopic, request.id, denied);
    }
    if (!this.accepting) {
      return this.replyError(
        request.replyTo,
        request.id,
        new FoglineError('UNAVAILABLE', 'edge agent is shutting down'),
      );
    }
    const deadline = new Deadline(
      this.options.clock,
      receivedAt,
      request.deadlineMs,
      this.options.replyMarginMs,
    );
    let input: Tensor<'FP32'>;
    let local: LocalAnswer;
    try {
      input = this.options.model.validate(request.tensors);
      local = await this.runLocal(input, deadline);
    } catch (err) {
      return this.replyError(request.replyTo, request.id, err);
    }
    return this.route(request, input, local, deadline);
  }

  private async runLocal(input: Tensor<'FP32'>, deadline: Deadline): Promise<LocalAnswer> {
    const { model, routing, telemetry } = this.options;
    const logits = await deadline.race(model.infer(input.data), 'the edge model');
    const score = scoreOf(routing.score, softmax(logits));
    const edgeMs = deadline.elapsedMs();
    telemetry.edgeLatency.observe(edgeMs);
    return { logits, score, edgeMs };
  }

  private async route(request: FabricRequest, input: Tensor<'FP32'>, local: LocalAnswer, deadline: Deadline) {
    const { cloud, routing, telemetry } = this.options;
    const decision = cloud
      ? decideEscalation({
          score: local.score,
          threshold: routing.threshold,
          remainingMs: deadline.remainingMs(),
          cloudBudgetMs: cloud.budget.requiredMs,
          breaker: cloud.breaker.state,
        })
      : ({ action: 'answer', reason: 'confident' } as const);
    if (decision.action === 'answer' || !cloud) {
      telemetry.counts.edge++;
      return this.replyLocal(request, local, false);
    }
    if (decision.action === 'degrade') {
      telemetry.counts.degraded++;
      return this.replyLocal(request, local, true);
    }
    telemetry.counts.escalations++;
    const started = this.options.clock.now();
    try {
      const answer = await cloud.breaker.fire(() => this.callCloud(cloud, request, input, deadline));
      const cloudMs = this.options.clock.now() - started;
      telemetry.cloudLatency.observe(cloudMs);
      cloud.budget.observe(cloudMs);
      telemetry.counts.cloud++;
      return this.replyCloud(request, local, answer, cloudMs);
    } catch (err) {
      // OIP call failed, timed out or was refused by the breaker: the local answer stands, degraded.
      const refused = isFoglineError(err) && err.details?.refused === true;
      if (!refused) telemetry.cloudLatency.observe(this.options.clock.now() - started);
      telemetry.counts.degraded++;
      return this.replyLocal(request, local, true);
    }
  }

  /** One cloud call within the remaining budget; the answer is checked here so a bad one counts as a failure. */
  private async callCloud(
    cloud: CloudTier,
    request: FabricRequest,
    input: Tensor<'FP32'>,
    deadline: Deadline,
  ) {
    const name = this.options.model.output.name;
    const tensor: Tensor = { name: input.name, datatype: 'FP32', shape: input.shape, data: input.data };
    const answer = await cloud.client.infer(request.id ?? 'edge', [tensor], deadline.remainingMs());
    const logits = findTensor(answer.outputs, name, 'FP32');
    if (logits.data.length === 0)
      throw new FoglineError('INTERNAL', `cloud returned an empty "${name}" output`);
    return { answer, logits: logits.data };
  }

  private replyLocal(request: FabricRequest, local: LocalAnswer, degraded: boolean): Promise<void> {
    const { model } = this.options;
    return this.publishAnswer(request.replyTo, {
      id: request.id,
      modelName: model.name,
      modelVersion: String(model.version),
      outputs: [logitsOutput(model.output.name, local.logits)],
      parameters: {
        tier: 'edge',
        degraded,
        score: local.score,
        edge_ms: local.edgeMs,
        model_versions: model.label,
      },
    });
  }

  private replyCloud(
    request: FabricRequest,
    local: LocalAnswer,
    cloud: { answer: CloudAnswer; logits: Float32Array },
    cloudMs: number,
  ): Promise<void> {
    const { model, routing } = this.options;
    const { answer, logits } = cloud;
    const version = answer.modelVersion ?? '?';
    const parameters: FabricReplyParameters = {
      tier: 'cloud',
      degraded: false,
      score: scoreOf(routing.score, softmax(logits)),
      edge_ms: local.edgeMs,
      cloud_ms: cloudMs,
      model_versions: `${model.label},${answer.modelName}:${version}`,
    };
    return this.publishAnswer(request.replyTo, {
      id: request.id,
      modelName: answer.modelName,
      modelVersion: version,
      outputs: [logitsOutput(model.output.name, logits)],
      parameters,
    });
  }

  private publishAnswer(topic: string, reply: Parameters<typeof encodeAnswer>[0]): Promise<void> {
    return this.options.publish(topic, encodeAnswer(reply));
  }

  private replyError(topic: string, id: string | undefined, err: unknown): Promise<void> {
    const error = fromUnknown(err);
    this.options.telemetry.recordError(error.code);
    return this.options.publish(topic, encodeErrorReply(error, id));
  }
}

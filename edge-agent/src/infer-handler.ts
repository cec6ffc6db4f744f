/**
 * The edge's answer to one message of the infer topic (docs/design.md "One inference, end to end",
 * steps 3–4), served through the fabric's one serve path (core/fabric/server.ts: read, reply-topic
 * ownership, deadline, reply): validate, run the mid model through the batcher, score, then answer
 * locally, escalate to the cloud, or answer locally flagged degraded when the cloud is unavailable.
 * Nothing here throws to the caller.
 */
import type { Clock, Tensor } from '@fogline/shared';
import {
  type AnswerReply,
  type Deadline,
  type FabricReplyParameters,
  type FabricRequest,
  type FabricRequestLimits,
  FabricServer,
  FoglineError,
  findTensor,
  isFoglineError,
  logitsOutput,
  type ResolvedPolicy,
  scoreOf,
  softmax,
} from '@fogline/shared';
import type { CloudAnswer } from './cloud-client.ts';
import type { CloudTier } from './cloud-tier.ts';
import type { EdgeModel } from './edge-model.ts';
import { decideAtEdge } from './edge-routing.ts';
import type { EdgeTelemetry } from './edge-telemetry.ts';

export interface InferHandlerOptions extends FabricRequestLimits {
  readonly model: EdgeModel;
  readonly routing: ResolvedPolicy;
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
  private readonly server: FabricServer;

  constructor(private readonly options: InferHandlerOptions) {
    const { telemetry } = options;
    this.server = new FabricServer({
      defaultDeadlineMs: options.defaultDeadlineMs,
      maxDeadlineMs: options.maxDeadlineMs,
      clock: options.clock,
      replyMarginMs: options.replyMarginMs,
      publish: options.publish,
      answer: (request, deadline) => this.answer(request, deadline),
      onErrorReply: (code) => telemetry.recordError(code),
      onDrop: () => telemetry.recordDrop('malformed-no-reply-to'),
      ...(options.onPublishError && { onPublishError: options.onPublishError }),
    });
  }

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
      await this.server.serve(payload, senderId, receivedAt);
    } finally {
      telemetry.totalLatency.observe(clock.now() - receivedAt);
      this.active--;
      if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * The edge's answer to a well-formed request of its own sender: the mid model's, then routed. A
   * throw (shutting down, invalid input, model failure, deadline) becomes the error reply.
   */
  private async answer(request: FabricRequest, deadline: Deadline): Promise<AnswerReply> {
    if (!this.accepting) throw new FoglineError('UNAVAILABLE', 'edge agent is shutting down');
    const { model, routing, telemetry } = this.options;
    const input = model.validate(request.tensors);
    const logits = await deadline.race(model.infer(input.data), 'the edge model');
    const local: LocalAnswer = {
      logits,
      score: scoreOf(routing.score, softmax(logits)),
      edgeMs: deadline.elapsedMs(),
    };
    telemetry.edgeLatency.observe(local.edgeMs);
    return this.route(request, input, local, deadline);
  }

  private async route(
    request: FabricRequest,
    input: Tensor<'FP32'>,
    local: LocalAnswer,
    deadline: Deadline,
  ): Promise<AnswerReply> {
    const { cloud, routing, telemetry } = this.options;
    const decision = cloud
      ? decideAtEdge(local.score, routing, {
          remainingMs: deadline.remainingMs(),
          minEscalationMs: cloud.budget.requiredMs,
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

  private replyLocal(request: FabricRequest, local: LocalAnswer, degraded: boolean): AnswerReply {
    const { model } = this.options;
    return {
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
    };
  }

  private replyCloud(
    request: FabricRequest,
    local: LocalAnswer,
    cloud: { answer: CloudAnswer; logits: Float32Array },
    cloudMs: number,
  ): AnswerReply {
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
    return {
      id: request.id,
      modelName: answer.modelName,
      modelVersion: version,
      outputs: [logitsOutput(model.output.name, logits)],
      parameters,
    };
  }
}

/**
 * The edge's answer to one message of the infer topic (docs/design.md "One inference, end to end",
 * steps 3–4), served through the fabric's one serve path (core/fabric/server.ts: read, reply-topic
 * ownership, deadline, reply): validate, run the mid model through the batcher, score, then answer
 * locally, escalate to the cloud, or answer locally flagged degraded (with `fallback_code`) when the
 * cloud is unavailable or its model does not fit. Inputs and outputs follow each model's config
 * (wire.md): the device's input is converted for the edge model and, separately, for the cloud
 * model; replies carry real values and the answering model's `output_kind`.
 * Nothing here throws to the caller.
 */
import type { Clock, ErrorCode } from '@fogline/shared';
import {
  type AnswerReply,
  type ClassAnswer,
  childTraceparent,
  type Deadline,
  type FabricReplyParameters,
  type FabricRequest,
  type FabricRequestLimits,
  FabricServer,
  FoglineError,
  formatTraceparent,
  fromUnknown,
  isFoglineError,
  logitsOutput,
  REPLY_OUTPUT_NAME,
  type ResolvedPolicy,
  scoreOf,
  type Traceparent,
} from '@fogline/shared';
import { type CloudResult, callCloudModel } from './cloud-call.ts';
import type { CloudTier } from './cloud-tier.ts';
import type { EdgeModel } from './edge-model.ts';
import { decideAtEdge } from './edge-routing.ts';
import type { EdgeTelemetry } from './edge-telemetry.ts';
import { answerLine, errorLine } from './request-log.ts';

export interface InferHandlerOptions extends FabricRequestLimits {
  /** The serving model (deployment/model-slot.ts): read once per request, which it answers with. */
  readonly model: { readonly current: EdgeModel };
  /** The routing policy in effect now (it may change at run time); read once per request. */
  readonly routing: () => ResolvedPolicy;
  readonly cloud: CloudTier | undefined;
  readonly telemetry: EdgeTelemetry;
  readonly clock: Clock;
  /** Publishes a reply (QoS 1) on the local broker. */
  readonly publish: (topic: string, payload: Uint8Array) => Promise<void>;
  /** Budget held back for publishing the reply, ms. */
  readonly replyMarginMs: number;
  readonly onPublishError?: (err: unknown) => void;
  /**
   * A request answered degraded because the cloud could not answer it (not because its model does
   * not fit): the late-correction store keeps it (docs/edge-agent.md "Late corrections").
   */
  readonly onDegraded?: (request: FabricRequest, answer: ClassAnswer) => void;
  /** The request log: one line per request (request-log.ts); none without. */
  readonly log?: (line: string) => void;
}

interface LocalAnswer {
  /** The model that answered (a swap may happen while the request runs). */
  readonly model: EdgeModel;
  readonly answer: ClassAnswer;
  readonly score: number;
  readonly edgeMs: number;
}

/** Why a degraded answer has no cloud answer (parameters.fallback_code / fallback_message). */
interface Fallback {
  readonly code: ErrorCode;
  readonly message: string;
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
      onErrorReply: (code, id, error) => {
        telemetry.recordError(code);
        options.log?.(errorLine(id, error));
      },
      onDrop: () => telemetry.recordDrop('malformed-no-reply-to'),
      onDuplicate: () => telemetry.recordDrop('duplicate-in-flight'),
      ...(options.onPublishError && { onPublishError: options.onPublishError }),
      onServed: (receivedAt) => {
        telemetry.totalLatency.observe(options.clock.now() - receivedAt);
        this.active--;
        if (this.active === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      },
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
  handle(payload: Uint8Array, senderId?: string): Promise<void> {
    const { telemetry, clock } = this.options;
    const receivedAt = clock.now();
    telemetry.counts.received++;
    this.active++;
    // The server's onServed (above) counts it out: no async frame of our own per request.
    return this.server.serve(payload, senderId, receivedAt);
  }

  /**
   * The edge's answer to a well-formed request of its own sender: the mid model's, then routed. A
   * throw (shutting down, invalid input, model failure, deadline) becomes the error reply.
   */
  private async answer(request: FabricRequest, deadline: Deadline): Promise<AnswerReply> {
    if (!this.accepting) throw new FoglineError('UNAVAILABLE', 'edge agent is shutting down');
    const { telemetry } = this.options;
    const model = this.options.model.current;
    const routing = this.options.routing();
    // Read and queued in one tick: the request runs on the model it read, whatever swaps meanwhile.
    const input = model.validate(request);
    const answer = await deadline.race(model.infer(input), 'the edge model');
    const local: LocalAnswer = {
      model,
      answer,
      score: scoreOf(routing.score, answer.probabilities),
      edgeMs: deadline.elapsedMs(),
    };
    telemetry.edgeLatency.observe(local.edgeMs);
    const { cloud, log } = this.options;
    const decision = cloud
      ? decideAtEdge(local.score, routing, {
          remainingMs: deadline.remainingMs(),
          minEscalationMs: cloud.budget.requiredMs,
          breaker: cloud.replicas.state,
        })
      : ({ action: 'answer', reason: 'confident' } as const);
    // The trace context is only read by a cloud call and the request log: drawn only for them, since
    // its random ids cost more than the rest of a local answer's routing (bench/reports/stitched.md).
    // A local answer is returned without a further await: most requests, and no async frame more.
    if (cloud === undefined || decision.action !== 'escalate') {
      const reply = this.answerHere(decision.action === 'degrade', request, local);
      log?.(answerLine(request, childTraceparent(request.traceparent), reply, deadline.elapsedMs()));
      return reply;
    }
    const trace = childTraceparent(request.traceparent);
    const reply = await this.escalate(cloud, request, local, deadline, routing, trace);
    log?.(answerLine(request, trace, reply, deadline.elapsedMs()));
    return reply;
  }

  /** The local answer, as the routing decided: plain, or degraded since the cloud breaker is open. */
  private answerHere(breakerOpen: boolean, request: FabricRequest, local: LocalAnswer): AnswerReply {
    const { telemetry } = this.options;
    if (!breakerOpen) {
      telemetry.counts.edge++;
      return this.replyLocal(request, local);
    }
    telemetry.counts.degraded++;
    return this.replyLocal(request, local, { code: 'UNAVAILABLE', message: 'cloud breaker open' });
  }

  private async escalate(
    cloud: CloudTier,
    request: FabricRequest,
    local: LocalAnswer,
    deadline: Deadline,
    routing: ResolvedPolicy,
    trace: Traceparent,
  ): Promise<AnswerReply> {
    const { telemetry } = this.options;
    telemetry.counts.escalations++;
    const started = this.options.clock.now();
    try {
      // The cloud model's metadata, read once (and again after a failure), through the breakers.
      // A replica that fails is retried once on the next while the budget still holds a cloud call.
      // A read already under way (started by an earlier request, with its budget) is shared: bound by ours.
      const budgetLeft = () => deadline.remainingMs() >= cloud.budget.requiredMs;
      const target =
        cloud.model.known() ??
        (await deadline.race(
          cloud.replicas.fire((c) => cloud.model.refresh(c, deadline.remainingMs()), budgetLeft),
          'the cloud model metadata',
        ));
      if (!target.fits) {
        telemetry.counts.degraded++;
        return this.replyLocal(request, local, { code: 'INVALID_ARG', message: target.message });
      }
      const answer = await cloud.replicas.fire(
        (c) => callCloudModel(c, target.model, request, deadline.remainingMs(), formatTraceparent(trace)),
        budgetLeft,
      );
      const cloudMs = this.options.clock.now() - started;
      telemetry.cloudLatency.observe(cloudMs);
      cloud.budget.observe(cloudMs);
      telemetry.counts.cloud++;
      return this.replyCloud(request, local, answer, cloudMs, routing);
    } catch (err) {
      // OIP call failed, timed out or was refused by the breaker: the local answer stands, degraded.
      const refused = isFoglineError(err) && err.details?.refused === true;
      if (!refused) {
        telemetry.cloudLatency.observe(this.options.clock.now() - started);
        cloud.model.forget();
      }
      telemetry.counts.degraded++;
      const error = fromUnknown(err);
      return this.replyLocal(request, local, { code: error.code, message: error.message });
    }
  }

  private replyLocal(request: FabricRequest, local: LocalAnswer, fallback?: Fallback): AnswerReply {
    const { model } = local;
    const parameters: FabricReplyParameters = {
      tier: 'edge',
      degraded: fallback !== undefined,
      score: local.score,
      edge_ms: local.edgeMs,
      model_versions: model.label,
      output_kind: model.config.output_kind,
    };
    if (fallback) {
      parameters.fallback_code = fallback.code;
      parameters.fallback_message = fallback.message;
      if (fallback.code !== 'INVALID_ARG') this.options.onDegraded?.(request, local.answer);
    }
    return {
      id: request.id,
      modelName: model.name,
      modelVersion: String(model.version),
      outputs: [logitsOutput(REPLY_OUTPUT_NAME, local.answer.values)],
      parameters,
    };
  }

  private replyCloud(
    request: FabricRequest,
    local: LocalAnswer,
    cloud: CloudResult,
    cloudMs: number,
    routing: ResolvedPolicy,
  ): AnswerReply {
    const { model } = local;
    const { answer, scores } = cloud;
    const version = answer.modelVersion ?? '?';
    const parameters: FabricReplyParameters = {
      tier: 'cloud',
      degraded: false,
      score: scoreOf(routing.score, scores.probabilities),
      edge_ms: local.edgeMs,
      cloud_ms: cloudMs,
      model_versions: `${model.label},${answer.modelName}:${version}`,
      output_kind: cloud.outputKind,
    };
    return {
      id: request.id,
      modelName: answer.modelName,
      modelVersion: version,
      outputs: [logitsOutput(REPLY_OUTPUT_NAME, scores.values)],
      parameters,
    };
  }
}

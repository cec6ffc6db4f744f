/**
 * The cloud playing the edge of devices enrolled without one (DESIGN.md "Where the brokers are"):
 * requests published on the cloud broker's `fogline/v1/edge/cloud/infer` are read with the edge's
 * own request reader, run through the cloud model's serving instance (the same batcher as HTTP
 * infer, so both kinds of traffic share batches), scored with the model's routing score, and
 * answered on the device's reply topic with the edge's reply encoders: `tier: 'cloud'`, no
 * `edge_ms` (no edge took part), `cloud_ms` = the cloud's own time.
 *
 * As on an edge: the sender must own its `reply_to`; a request that cannot be served within its
 * `deadline_ms` gets DEADLINE_EXCEEDED, never a late answer; a malformed one gets an error reply when
 * a reply topic or correlation id can be read, else it is counted and dropped. Nothing here throws
 * into the broker.
 */
import type { FoglineBroker } from '@fogline/shared/broker/index';
import { type Clock, systemClock } from '@fogline/shared/clock';
import {
  CLOUD_EDGE_ID,
  Deadline,
  encodeAnswer,
  encodeErrorReply,
  type FabricRequest,
  type FabricRequestLimits,
  logitsOutput,
  RequestRejection,
  readFabricRequest,
  topics,
} from '@fogline/shared/core/fabric/index';
import { FoglineError, fromUnknown } from '@fogline/shared/errors';
import { scoreOf, softmax } from '@fogline/shared/scores';
import type { AedesPublishPacket, Client } from 'aedes';
import { planInfer } from '../serving/infer-input.ts';
import type { ModelInstance } from '../serving/model-instance.ts';

export interface DirectDeviceServerOptions extends FabricRequestLimits {
  broker: Pick<FoglineBroker, 'aedes' | 'publish'>;
  /** The served instance of the cloud model (throws NOT_FOUND / UNAVAILABLE like HTTP infer). */
  resolveModel: () => ModelInstance;
  /** Budget held back for publishing the reply, ms. */
  replyMarginMs: number;
  clock?: Clock;
  /** A reply could not be published (e.g. the broker is closing). */
  onPublishError?: (err: unknown) => void;
}

/** Defaults of the request limits, as on an edge agent. */
export const DIRECT_DEVICE_DEFAULTS = Object.freeze({
  defaultDeadlineMs: 1000,
  maxDeadlineMs: 60_000,
  replyMarginMs: 5,
});

export interface DirectDeviceStats {
  received: number;
  answered: number;
  /** Error replies (malformed, refused, model unavailable, deadline exceeded). */
  errors: number;
  /** Requests with no readable reply topic or correlation id: nobody could use an answer. */
  dropped: number;
}

export class DirectDeviceServer {
  readonly stats: DirectDeviceStats = { received: 0, answered: 0, errors: 0, dropped: 0 };
  private readonly topic = topics.infer(CLOUD_EDGE_ID);
  private readonly clock: Clock;
  // Emitted once the broker accepted the PUBLISH (authorizePublish re-addresses refused ones).
  private readonly listener = (packet: AedesPublishPacket, client: Client | null) => {
    if (client !== null && packet.topic === this.topic) void this.handle(packet.payload as Buffer, client.id);
  };

  constructor(private readonly options: DirectDeviceServerOptions) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    this.options.broker.aedes.on('publish', this.listener);
  }

  stop(): void {
    this.options.broker.aedes.off('publish', this.listener);
  }

  /** Serves one request of `senderId`; answers every failure itself. */
  async handle(payload: Uint8Array, senderId: string): Promise<void> {
    this.stats.received++;
    try {
      await this.serve(payload, senderId);
    } catch (err) {
      // serve() answers every failure itself; reaching here means even the reply could not be sent.
      this.options.onPublishError?.(err);
    }
  }

  private async serve(payload: Uint8Array, senderId: string): Promise<void> {
    const receivedAt = this.clock.now();
    const ownTopic = topics.reply(senderId);
    let request: FabricRequest;
    try {
      request = readFabricRequest(payload, this.options);
    } catch (err) {
      const rejection = RequestRejection.of(err);
      if (rejection.unaddressed) {
        this.stats.dropped++;
        return;
      }
      return this.replyError(ownTopic, rejection.id, rejection.error);
    }
    if (request.replyTo !== ownTopic) {
      const denied = new FoglineError(
        'PERMISSION_DENIED',
        `reply_to must be your own reply topic ${ownTopic}`,
      );
      return this.replyError(ownTopic, request.id, denied);
    }
    const deadline = new Deadline(this.clock, receivedAt, request.deadlineMs, this.options.replyMarginMs);
    let answer: Uint8Array;
    try {
      answer = await this.infer(request, deadline);
    } catch (err) {
      return this.replyError(request.replyTo, request.id, err);
    }
    this.stats.answered++;
    return this.options.broker.publish(request.replyTo, answer, { qos: 1 });
  }

  /** Runs the cloud model on the request within its budget and encodes the answer. */
  private async infer(request: FabricRequest, deadline: Deadline): Promise<Uint8Array> {
    // Resolve and submit in one synchronous step, as HTTP infer does (no retired batcher).
    const instance = this.options.resolveModel();
    const output = instance.config.outputs[0];
    if (!output) throw new FoglineError('INTERNAL', `model "${instance.name}" declares no output`);
    const plan = planInfer(
      instance.name,
      instance.config,
      instance.batching.maxBatchSize,
      { inputs: [], outputs: [{ name: output.name }] },
      request.tensors,
    );
    if (plan.item.batch !== 1) {
      throw new FoglineError('INVALID_ARG', `a device request carries one sample, got ${plan.item.batch}`);
    }
    let ok = false;
    try {
      const outputs = await deadline.race(instance.infer(plan.item), `the cloud model "${instance.name}"`);
      const logits = outputs[output.name]?.data;
      if (!(logits instanceof Float32Array) || logits.length === 0) {
        throw new FoglineError('INTERNAL', `model "${instance.name}" returned no "${output.name}" rows`);
      }
      ok = true;
      return encodeAnswer({
        id: request.id,
        modelName: instance.name,
        modelVersion: String(instance.version),
        outputs: [logitsOutput(output.name, logits)],
        parameters: {
          tier: 'cloud',
          degraded: false,
          score: scoreOf(instance.config.routing.score, softmax(logits)),
          cloud_ms: deadline.elapsedMs(),
          model_versions: `${instance.name}:${instance.version}`,
        },
      });
    } finally {
      instance.requests.record(ok, deadline.elapsedMs());
    }
  }

  private replyError(topic: string, id: string | undefined, err: unknown): Promise<void> {
    this.stats.errors++;
    return this.options.broker.publish(topic, encodeErrorReply(fromUnknown(err), id), { qos: 1 });
  }
}

/**
 * The cloud playing the edge of devices enrolled without one (docs/design.md "Where the brokers are"):
 * requests published on the cloud broker's `fogline/v1/edge/cloud/infer` go through the edge's own
 * serve path (core/fabric/server.ts), run through the cloud model's serving instance (the same batcher
 * as HTTP infer, so both kinds of traffic share batches), are scored with the model's routing score,
 * and are answered on the device's reply topic: `tier: 'cloud'`, no `edge_ms` (no edge took part),
 * `cloud_ms` = the cloud's own time. Tensors by config, as on an edge (wire.md, core/fabric/
 * model-answer.ts): the device's input is taken by position and converted for the model's input, the
 * model's first output is dequantized and scored per its `output_kind`, which the reply names.
 *
 * As on an edge: the sender must own its `reply_to`; a request that cannot be served within its
 * `deadline_ms` gets DEADLINE_EXCEEDED, never a late answer; a malformed one gets an error reply when
 * a reply topic or correlation id can be read, else it is counted and dropped. Nothing here throws
 * into the broker.
 */

import {
  type AnswerReply,
  CLOUD_EDGE_ID,
  type Clock,
  type Deadline,
  type FabricRequest,
  type FabricRequestLimits,
  FabricServer,
  FoglineError,
  logitsOutput,
  REPLY_OUTPUT_NAME,
  readClassAnswer,
  scoreOf,
  servingInput,
  systemClock,
  topics,
} from '@fogline/shared';
import type { FoglineBroker } from '@fogline/shared/broker';
import type { AedesPublishPacket, Client } from 'aedes';
import type { ModelInstance } from '../serving/model-instance.ts';

export interface DirectDeviceServerOptions extends FabricRequestLimits {
  broker: Pick<FoglineBroker, 'aedes' | 'publish'>;
  /** The served instance of the cloud model (throws NOT_FOUND / UNAVAILABLE like HTTP infer). */
  resolveModel: () => ModelInstance;
  /** Budget held back for publishing the reply, ms. */
  replyMarginMs: number;
  clock?: Clock;
  /** Takes a request of `deviceId` past a rate limit, or throws RATE_LIMITED (the playground's). */
  admit?: (deviceId: string) => void;
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
  /**
   * Requests given no reply of their own: no readable reply topic or correlation id (nobody could use
   * an answer), or a repeat of one still in flight (same reply topic and id: its reply answers both).
   */
  dropped: number;
}

export class DirectDeviceServer {
  readonly stats: DirectDeviceStats = { received: 0, answered: 0, errors: 0, dropped: 0 };
  private readonly topic = topics.infer(CLOUD_EDGE_ID);
  private readonly clock: Clock;
  private readonly server: FabricServer;
  // Emitted once the broker accepted the PUBLISH (authorizePublish re-addresses refused ones), and only
  // by the broker the device published on: with replicas (docs/scale-out.md) the replica the device is
  // connected to answers, once; the others get the message through Redis but no 'publish' event.
  private readonly listener = (packet: AedesPublishPacket, client: Client | null) => {
    if (client !== null && packet.topic === this.topic) void this.handle(packet.payload as Buffer, client.id);
  };

  constructor(private readonly options: DirectDeviceServerOptions) {
    const { broker, onPublishError } = options;
    const { stats } = this;
    this.clock = options.clock ?? systemClock;
    this.server = new FabricServer({
      defaultDeadlineMs: options.defaultDeadlineMs,
      maxDeadlineMs: options.maxDeadlineMs,
      clock: this.clock,
      replyMarginMs: options.replyMarginMs,
      publish: (topic, payload) => broker.publish(topic, payload, { qos: 1 }),
      answer: (request, deadline) => this.answer(request, deadline),
      onErrorReply: () => stats.errors++,
      onDrop: () => stats.dropped++,
      onDuplicate: () => stats.dropped++,
      ...(onPublishError && { onPublishError }),
    });
  }

  start(): void {
    this.options.broker.aedes.on('publish', this.listener);
  }

  stop(): void {
    this.options.broker.aedes.off('publish', this.listener);
  }

  /** Serves one request of `senderId`; answers every failure itself. */
  handle(payload: Uint8Array, senderId: string): Promise<void> {
    this.stats.received++;
    return this.server.serve(payload, senderId, this.clock.now());
  }

  /** Runs the cloud model on the request within its budget. */
  private async answer(request: FabricRequest, deadline: Deadline): Promise<AnswerReply> {
    this.options.admit?.(request.deviceId);
    // Resolve and submit in one synchronous step, as HTTP infer does (no retired batcher).
    const instance = this.options.resolveModel();
    const { config } = instance;
    const inputSpec = config.inputs[0];
    const output = config.outputs[0];
    if (!inputSpec || !output || config.inputs.length !== 1) {
      throw new FoglineError('INTERNAL', `model "${instance.name}" does not take one input to one output`);
    }
    const input = servingInput(request, inputSpec);
    const data = input.data as ArrayBufferView;
    const item = {
      batch: 1,
      inputs: [new Uint8Array(data.buffer, data.byteOffset, data.byteLength)],
      // A model served elsewhere stops its remote call by then (serving/remote/).
      deadlineAt: performance.now() + deadline.remainingMs(),
    };
    let ok = false;
    try {
      const outputs = await deadline.race(instance.infer(item), `the cloud model "${instance.name}"`);
      const answer = readClassAnswer(outputs[output.name]?.data, output, config.output_kind, instance.name);
      const reply: AnswerReply = {
        id: request.id,
        modelName: instance.name,
        modelVersion: String(instance.version),
        outputs: [logitsOutput(REPLY_OUTPUT_NAME, answer.values)],
        parameters: {
          tier: 'cloud',
          degraded: false,
          score: scoreOf(config.routing.score, answer.probabilities),
          cloud_ms: deadline.elapsedMs(),
          model_versions: `${instance.name}:${instance.version}`,
          output_kind: config.output_kind,
        },
      };
      ok = true;
      this.stats.answered++;
      return reply;
    } finally {
      instance.requests.record(ok, deadline.elapsedMs());
    }
  }
}

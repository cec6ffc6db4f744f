/**
 * The one serve path of the infer topic, shared by every tier that answers devices: an edge agent, and
 * the cloud playing the edge of devices that have none (docs/design.md "One inference, end to end").
 * It reads the request, checks that the reply topic is the sender's own, starts the deadline, lets the
 * tier answer, and publishes the answer or an error reply. Every request gets exactly one reply unless
 * it has no readable reply topic or correlation id, in which case it is dropped and counted.
 *
 * A request that repeats one still in flight (same reply topic, same id) is not served again: MQTT
 * QoS 1 is at-least-once (MQTT.js sends unacknowledged PUBLISHes again after a reconnect), and a
 * device whose connection dropped mid-request sends its unanswered requests again; the original's
 * reply, published on the same topic, answers both. Once answered, an id may be asked again.
 *
 * The tier brings the I/O (`publish`) and its own logic (`answer`); nothing here touches a socket.
 */
import type { Clock } from '../clock.ts';
import { type ErrorCode, FoglineError, fromUnknown } from '../errors.ts';
import { Deadline } from './deadline.ts';
import { encodeErrorReply } from './error-reply.ts';
import { type AnswerReply, encodeAnswer } from './reply.ts';
import {
  type FabricRequest,
  type FabricRequestLimits,
  RequestRejection,
  readFabricRequest,
} from './request.ts';
import { topics } from './topics.ts';

export interface FabricServerOptions extends FabricRequestLimits {
  readonly clock: Clock;
  /** Budget held back for publishing the reply, ms. */
  readonly replyMarginMs: number;
  /** Publishes a reply (QoS 1) on the broker the request came from. */
  readonly publish: (topic: string, payload: Uint8Array) => Promise<void>;
  /**
   * The tier's answer to a well-formed request whose reply topic is its sender's, within `deadline`.
   * A throw (a FoglineError, or anything else as INTERNAL) is sent back as the error reply.
   */
  readonly answer: (request: FabricRequest, deadline: Deadline) => Promise<AnswerReply>;
  /** An error reply with `code` is about to be published, to the request `id` (when it had one). */
  readonly onErrorReply: (code: ErrorCode, id: string | undefined, error: FoglineError) => void;
  /** A request nobody could use an answer to (no reply topic, no correlation id) was dropped. */
  readonly onDrop: () => void;
  /** A request repeating one still in flight (same reply topic and id) was dropped: its reply answers it. */
  readonly onDuplicate?: (request: FabricRequest) => void;
  /** A reply could not be published (e.g. the broker is closing). */
  readonly onPublishError?: (err: unknown) => void;
  /**
   * Serving a message received at `receivedAt` ended (replied to, dropped, or its reply failed): a
   * hook, so that a tier's own bookkeeping needs no async frame of its own around each request.
   */
  readonly onServed?: (receivedAt: number) => void;
}

export class FabricServer {
  /** `reply topic \n id` of the requests being served; an entry leaves once its reply is published. */
  private readonly serving = new Set<string>();

  constructor(private readonly options: FabricServerOptions) {}

  /** Requests with an id being served now (read, not yet replied to). */
  get inFlight(): number {
    return this.serving.size;
  }

  /**
   * Serves one message of the infer topic, received at `receivedAt`. `senderId` (when the broker names
   * the publisher) must own the reply topic: a device may not direct answers at another device.
   * Never rejects. One async frame per request from receipt to reply: it is held while the request is
   * in flight, so every frame more is memory that outlives a young-generation GC under load.
   */
  async serve(payload: Uint8Array, senderId: string | undefined, receivedAt: number): Promise<void> {
    const { options } = this;
    let key: string | undefined;
    try {
      let request: FabricRequest;
      try {
        request = readFabricRequest(payload, options);
      } catch (err) {
        const ownTopic = senderId === undefined ? undefined : topics.reply(senderId);
        return await this.reject(RequestRejection.of(err), ownTopic);
      }
      // A request's reply topic is exactly its device's (readFabricRequest): the sender's own iff the
      // device id is the sender's, with no topic built per request.
      if (senderId !== undefined && request.deviceId !== senderId) {
        const ownTopic = topics.reply(senderId);
        const denied = new FoglineError(
          'PERMISSION_DENIED',
          `reply_to must be your own reply topic ${ownTopic}`,
        );
        return await this.replyError(ownTopic, request.id, denied);
      }
      // Without an id two requests cannot be told apart from a repeat: each is served.
      if (request.id !== undefined) {
        key = `${request.replyTo}\n${request.id}`;
        if (this.serving.has(key)) {
          key = undefined;
          options.onDuplicate?.(request);
          return;
        }
        this.serving.add(key);
      }
      const deadline = new Deadline(options.clock, receivedAt, request.deadlineMs, options.replyMarginMs);
      let answer: Uint8Array;
      try {
        answer = encodeAnswer(await options.answer(request, deadline));
      } catch (err) {
        return await this.replyError(request.replyTo, request.id, err);
      }
      await options.publish(request.replyTo, answer);
    } catch (err) {
      // Every failure above is answered; reaching here means even the reply could not be sent.
      options.onPublishError?.(err);
    } finally {
      if (key !== undefined) this.serving.delete(key);
      options.onServed?.(receivedAt);
    }
  }

  /** A malformed request: an error reply to the sender (or the reply topic it named), else dropped. */
  private reject(rejection: RequestRejection, ownTopic: string | undefined): Promise<void> | undefined {
    const replyTo = rejection.unaddressed ? undefined : (ownTopic ?? rejection.replyTo);
    if (replyTo === undefined) {
      this.options.onDrop();
      return undefined;
    }
    return this.replyError(replyTo, rejection.id, rejection.error);
  }

  private replyError(topic: string, id: string | undefined, err: unknown): Promise<void> {
    const error = fromUnknown(err);
    this.options.onErrorReply(error.code, id, error);
    return this.options.publish(topic, encodeErrorReply(error, id));
  }
}

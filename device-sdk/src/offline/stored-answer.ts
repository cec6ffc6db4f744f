/**
 * What `offline.onAnswer` receives for a request made before a restart: the upper tier's answer as
 * an InferResult (no local latency: the process that asked is gone), or why there is none.
 */
import { type ErrorCode, fromUnknown } from '@fogline/shared';
import { classify, type InferResult, upstreamResult } from '../answer.ts';
import type { DeviceEventHub } from '../device-events.ts';
import type { EscalationSender, Outcome } from '../escalations.ts';
import { type DurableQueue, StoreAndForward } from './store-and-forward.ts';
import type { DurableStoreSettings } from './store-options.ts';

export type StoredAnswer =
  | { requestId: string; result: InferResult; error?: undefined }
  | {
      requestId: string;
      result?: undefined;
      /** DEADLINE_EXCEEDED: its TTL ran out; otherwise the edge's error reply, or an unusable reply. */
      error: { code: ErrorCode; message: string };
    };

export function storedAnswerOf(requestId: string, outcome: Outcome, labels: readonly string[]): StoredAnswer {
  if (outcome.kind === 'fallback')
    return { requestId, error: { code: outcome.code, message: outcome.message } };
  const { reply } = outcome;
  try {
    const answer = classify(reply.logits, reply.outputKind, labels);
    return { requestId, result: upstreamResult(requestId, answer, reply, { device: 0, total: 0 }) };
  } catch (err) {
    const e = fromUnknown(err);
    return { requestId, error: { code: e.code, message: `unusable reply from the edge: ${e.message}` } };
  }
}

/**
 * Store and forward from `queue`, answers to requests of before a restart going to `onAnswer`;
 * undefined without a durable store. An `onAnswer` that throws is told as `callbackError`.
 */
export function forwardFrom(
  queue: DurableQueue | undefined,
  sender: EscalationSender,
  settings: DurableStoreSettings | undefined,
  /** The labels of the model in effect (an update may change them). */
  labels: () => readonly string[],
  events: Pick<DeviceEventHub, 'failed'>,
): StoreAndForward | undefined {
  if (queue === undefined || settings === undefined) return undefined;
  return new StoreAndForward({
    queue,
    sender,
    ttlMs: settings.ttlMs,
    onOrphan: (id, outcome) => settings.onAnswer(storedAnswerOf(id, outcome, labels())),
    onCallbackError: (requestId, error) => events.failed('offline.onAnswer', error, requestId),
  });
}

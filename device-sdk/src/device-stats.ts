/** What a device counts, and the options of one inference (device.ts), checked. */
import { FoglineError, parseTraceparent } from '@fogline/shared';
import type { AuditCounts } from './audit-sampler.ts';
import type { CorrectionCounts } from './corrections.ts';
import type { FeedbackCounts } from './feedback.ts';
import type { StoreCounts } from './offline/store-and-forward.ts';

export interface InferOptions {
  /** Latency budget for this call, ms (default: the device's `deadlineMs`). */
  deadlineMs?: number;
  /**
   * The caller's W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`): sent with the request when
   * it goes to the edge, which passes its trace on to the cloud (docs/device-sdk.md "Tracing").
   */
  traceparent?: string;
}

/** `options` checked, with the device's default deadline: INVALID_ARG for a bad deadline or traceparent. */
export function readInferOptions(
  options: InferOptions,
  defaultDeadlineMs: number,
): { deadlineMs: number; traceparent: string | undefined } {
  const deadlineMs = options.deadlineMs ?? defaultDeadlineMs;
  if (typeof deadlineMs !== 'number' || !Number.isFinite(deadlineMs) || deadlineMs <= 0) {
    throw new FoglineError('INVALID_ARG', `deadlineMs must be a positive number, got ${deadlineMs}`);
  }
  const { traceparent } = options;
  if (traceparent !== undefined && parseTraceparent(traceparent) === undefined) {
    throw new FoglineError(
      'INVALID_ARG',
      'traceparent must be a W3C traceparent (00-<trace id>-<parent id>-<flags>)',
    );
  }
  return { deadlineMs, traceparent };
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
  /** Reports handed to the broker, and not sent because the device was not online. */
  reportsSent: number;
  reportsNotSent: number;
  /** Audits sent, and sampled but not sent (docs/device-sdk.md "Audits"). */
  audits: AuditCounts;
  /** Feedback sent, not sent, for unknown requests and duplicates (docs/device-sdk.md "Feedback"). */
  feedback: FeedbackCounts;
  /** Late corrections emitted, repeats ignored, refused (docs/device-sdk.md "Late corrections"). */
  corrections: CorrectionCounts;
  /**
   * Application callbacks and `device.on` listeners that threw (docs/device-sdk.md "Callbacks that
   * throw"): each told as `callbackError`; `offline.onAnswer`'s are also in `store.callbackErrors`.
   */
  callbackErrors: number;
  /** The durable store's counts (docs/device-sdk.md "Offline"); absent without `offline: { store }`. */
  store?: StoreCounts;
}

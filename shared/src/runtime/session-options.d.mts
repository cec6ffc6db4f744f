import type { InferenceSession } from 'onnxruntime-node';

/** Options for a serving session with `intraOpThreads` intra-op threads (session-options.mjs). */
export declare function servingSessionOptions(
  intraOpThreads: number,
  options?: { spin?: boolean },
): InferenceSession.SessionOptions;

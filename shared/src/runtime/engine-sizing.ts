import { availableParallelism } from 'node:os';

export interface EngineSizing {
  /** worker_threads, each with its own onnxruntime session. */
  workers: number;
  /** onnxruntime intra-op threads per session. */
  intraOpThreads: number;
}

/**
 * Default pool for `cores` CPUs. One core is left to the event loop (HTTP and MQTT parsing, batching,
 * responses); the rest run onnxruntime, in sessions of two intra-op threads: small CNN batches gain
 * little past two threads, and several sessions let one batch form while another computes.
 * 1–2 cores: one single-thread session per core. There the event loop shares a core with a session,
 * which measured better than leaving a core idle between batches (`npm run bench -- cloud`: binary
 * efficiency at concurrency 64 went from 0.49 with one session to 0.81 with two on 2 cores).
 */
export function defaultEngineSizing(cores: number = availableParallelism()): EngineSizing {
  const c = Math.max(1, Math.floor(cores));
  if (c <= 2) return { workers: c, intraOpThreads: 1 };
  const intraOpThreads = 2;
  return { workers: Math.max(1, Math.floor((c - 1) / intraOpThreads)), intraOpThreads };
}

/**
 * Default pool of an edge agent: its event loop also runs the MQTT broker of its devices, which costs
 * more per request than the mid model does, so one core stays with it and the others run sessions
 * (at least one), single-thread unless `intraOpThreads` says otherwise. On 2 cores one session
 * carried as much as two under `npm run bench -- fabric`, with the second core left to the broker.
 */
export function defaultEdgeEngineSizing(
  cores: number = availableParallelism(),
  intraOpThreads = 1,
): EngineSizing {
  const c = Math.max(1, Math.floor(cores));
  const threads = Math.max(1, Math.floor(intraOpThreads));
  return { workers: Math.max(1, Math.floor((c - 1) / threads)), intraOpThreads: threads };
}

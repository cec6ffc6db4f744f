/**
 * The one load generator of the benches: closed loop, in the spirit of wrk. `connections` clients
 * each keep `inFlightPerConnection` requests in flight: when one is answered the next is sent. A
 * protocol is a tiny adapter (bench/load/http.ts, bench/load/mqtt.ts) that sends pre-encoded
 * requests and says when each is answered. It runs in its own process (bench/load/run-load.ts) and
 * shares the cores with what it measures, so it counts its own CPU per request.
 */
import { startCounters } from '../lib/process-counters.ts';
import { type LatencySummary, round, summarize } from '../lib/stats.ts';

/** Called once per request: null when answered, else an error code (`HTTP_503`, `NO_REPLY`, ...). */
export type Done = (errorCode: string | null) => void;

export interface LoadConnection {
  /** False once the connection broke: its slots stop sending. */
  readonly alive: boolean;
  send(done: Done): void;
  close(): Promise<void>;
}

export interface LoadAdapter {
  connect(index: number): Promise<LoadConnection>;
}

export interface LoadWindow {
  readonly connections: number;
  readonly inFlightPerConnection: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface LoadResult {
  /** Answered inside the measured window. */
  readonly completed: number;
  readonly seconds: number;
  /** Error replies and lost requests inside the window, by code. */
  readonly errors: Record<string, number>;
  readonly latency: LatencySummary;
  /** Requests answered or failed, warm-up included: what the CPU figures are divided by. */
  readonly total: number;
  /** This process's CPU per request, connects included. */
  readonly cpuMicrosPerRequest: number;
}

export async function closedLoop(adapter: LoadAdapter, window: LoadWindow): Promise<LoadResult> {
  const counters = startCounters();
  const connections = await Promise.all(
    Array.from({ length: window.connections }, (_, i) => adapter.connect(i)),
  );
  const measureFrom = performance.now() + window.warmupMs;
  const end = measureFrom + window.durationMs;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let total = 0;
  // Completions inside the window count, whenever their request was sent.
  const slot = (connection: LoadConnection) =>
    new Promise<void>((resolve) => {
      const next = () => {
        if (performance.now() >= end || !connection.alive) return resolve();
        const sentAt = performance.now();
        connection.send((errorCode) => {
          total++;
          const now = performance.now();
          if (now >= measureFrom && now <= end) {
            if (errorCode === null) latencies.push(now - sentAt);
            else errors[errorCode] = (errors[errorCode] ?? 0) + 1;
          }
          next();
        });
      };
      next();
    });
  await Promise.all(
    connections.flatMap((c) => Array.from({ length: window.inFlightPerConnection }, () => slot(c))),
  );
  await Promise.all(connections.map((c) => c.close()));
  return {
    completed: latencies.length,
    seconds: window.durationMs / 1000,
    errors,
    latency: summarize(latencies),
    total,
    cpuMicrosPerRequest: round(counters().cpuMicros / Math.max(1, total), 1),
  };
}

/**
 * The one load generator, closed loop like wrk: `connections` clients each keep `inFlightPerConnection`
 * requests in flight; a protocol is a small adapter (http.ts, mqtt.ts). It runs in its own process
 * (run-load.ts) and reports its own CPU per request, since it shares the cores with what it measures.
 */
import { startCounters } from '../lib/process-counters.ts';
import { round, summarize } from '../lib/stats.ts';

/** Called once per request: null when answered (with what the adapter recorded), else an error code. */
export type Done = (errorCode: string | null, record?: unknown) => void;

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
  /** Stop after this many requests in all, whatever the duration. */
  readonly count?: number;
  /**
   * At most this many requests sent per second in all (paced from the first send; a slot whose turn
   * has not come waits): the same request rate as another server's closed-loop run, for a fair CPU
   * comparison at equal load. Absent: as fast as answers come back.
   */
  readonly ratePerSec?: number;
}

export type LoadResult = Awaited<ReturnType<typeof closedLoop>>;

/** `onConnected`: every connection is up and no request is sent yet (the server's counters start there). */
export async function closedLoop(adapter: LoadAdapter, window: LoadWindow, onConnected?: () => void) {
  let counters = startCounters();
  const connections = await Promise.all(
    Array.from({ length: window.connections }, (_, i) => adapter.connect(i)),
  );
  onConnected?.();
  counters = startCounters();
  const measureFrom = performance.now() + window.warmupMs;
  const end = measureFrom + window.durationMs;
  const latencies: number[] = [];
  const records: unknown[] = [];
  let sent = 0;
  const errors: Record<string, number> = {};
  let total = 0;
  const interval = window.ratePerSec === undefined ? 0 : 1000 / window.ratePerSec;
  /** Paced: when the next request may go (a late send is not caught up: no bursts). */
  let nextAt = 0;
  const slot = (connection: LoadConnection) =>
    new Promise<void>((resolve) => {
      const send = () => {
        if (performance.now() >= end || !connection.alive || sent >= (window.count ?? Infinity))
          return resolve();
        sent++;
        const sentAt = performance.now();
        connection.send((errorCode, record) => {
          total++;
          // Completions inside the window count, whenever their request was sent.
          const now = performance.now();
          if (now >= measureFrom && now <= end) {
            if (record !== undefined) records.push(record);
            if (errorCode === null) latencies.push(now - sentAt);
            else errors[errorCode] = (errors[errorCode] ?? 0) + 1;
          }
          next();
        });
      };
      const next = () => {
        if (interval === 0) return send();
        const now = performance.now();
        const due = Math.max(nextAt, now);
        nextAt = due + interval;
        if (due - now < 1) send();
        else setTimeout(send, due - now);
      };
      next();
    });
  await Promise.all(
    connections.flatMap((c) => Array.from({ length: window.inFlightPerConnection }, () => slot(c))),
  );
  await Promise.all(connections.map((c) => c.close()));
  return {
    /** Answered inside the measured window, and their latency. */
    completed: latencies.length,
    seconds: (Math.min(performance.now(), end) - measureFrom) / 1000,
    latency: summarize(latencies),
    /** Error replies and lost requests inside the window, by code. */
    errors,
    /** Requests answered or failed, warm-up included, and this process's CPU per one of them (counted once all are connected). */
    total,
    cpuMicrosPerRequest: round(counters().cpuMicros / Math.max(1, total), 1),
    records,
  };
}

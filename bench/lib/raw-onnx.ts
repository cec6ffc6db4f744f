/**
 * The baseline of the cloud and fabric benches: raw onnxruntime-node, `sessions` sessions at once,
 * each in its own process (bench/lib/raw-session.ts) as the product runs each in its own worker.
 * Gives samples/s per batch size and per-run latency; kept open so a bench can pair each of its
 * rounds with a raw measurement taken just before it (same moment, same background load).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childExecArgv } from './child.ts';
import type { RawRun, RawSessionOptions } from './raw-session.ts';
import { type LatencySummary, summarize } from './stats.ts';

const SESSION_SCRIPT = fileURLToPath(new URL('./raw-session.ts', import.meta.url));

export interface RawPoint {
  readonly batch: number;
  readonly samplesPerSec: number;
  /** Per-run latency at this batch size (all sessions pooled). */
  readonly run: LatencySummary;
}

export interface RawBaseline {
  readonly sessions: number;
  readonly intraOpThreads: number;
  /** All sessions run `batch` for `ms` at once. */
  measure(batch: number, ms: number): Promise<RawPoint>;
  /** One session alone at batch 1: the model's own time for a lone request. */
  single(ms: number): Promise<LatencySummary>;
  close(): Promise<void>;
}

function reply<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`raw session exited ${code}`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve(m as T);
    });
  });
}

async function run(child: ChildProcess, batch: number, ms: number): Promise<RawRun> {
  const done = reply<RawRun>(child);
  child.send({ batch, ms });
  return done;
}

export async function openRaw(options: RawSessionOptions & { sessions: number }): Promise<RawBaseline> {
  const children = Array.from({ length: options.sessions }, () =>
    fork(SESSION_SCRIPT, [JSON.stringify(options)], { execArgv: childExecArgv() }),
  );
  await Promise.all(children.map((c) => reply(c)));
  return {
    sessions: options.sessions,
    intraOpThreads: options.intraOpThreads,
    async measure(batch, ms) {
      const runs = await Promise.all(children.map((c) => run(c, batch, ms)));
      const samples = runs.reduce((n, r) => n + r.times.length * batch, 0);
      const elapsed = Math.max(...runs.map((r) => r.elapsedMs));
      return {
        batch,
        samplesPerSec: (samples * 1000) / elapsed,
        run: summarize(runs.flatMap((r) => r.times)),
      };
    },
    async single(ms) {
      return summarize((await run(children[0]!, 1, ms)).times);
    },
    async close() {
      const exited = children.map((c) => new Promise((resolve) => c.once('exit', resolve)));
      for (const c of children) c.disconnect();
      await Promise.all(exited);
    },
  };
}

export interface RawSweep {
  readonly sessions: number;
  readonly intraOpThreads: number;
  readonly points: RawPoint[];
  /** The best point: the box's limit for this configuration. */
  readonly best: RawPoint;
}

/** A sweep plus the single-sample latency of one session alone. */
export interface RawMeasurement extends RawSweep {
  readonly single: LatencySummary;
}

/** Measures every batch size in turn. */
export async function sweep(raw: RawBaseline, batches: readonly number[], ms: number): Promise<RawSweep> {
  const points: RawPoint[] = [];
  for (const batch of batches) points.push(await raw.measure(batch, ms));
  const best = points.reduce((a, b) => (b.samplesPerSec > a.samplesPerSec ? b : a));
  return { sessions: raw.sessions, intraOpThreads: raw.intraOpThreads, points, best };
}

/**
 * The baseline: raw onnxruntime-node, `sessions` sessions at once, each in its own process like the
 * product's workers, kept open so each round of a bench is paired with raw measured just before it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { childExecArgv } from './child.ts';
import type { RawRun, RawSessionOptions } from './raw-session.ts';
import { summarize } from './stats.ts';

const SESSION_SCRIPT = fileURLToPath(new URL('./raw-session.ts', import.meta.url));

/** The session's next message; an error if its process ends first. */
function reply<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) => reject(new Error(`raw session exited ${code}`));
    child.once('exit', exited).once('message', (message) => {
      child.off('exit', exited);
      resolve(message as T);
    });
  });
}

function run(child: ChildProcess, batch: number, ms: number): Promise<RawRun> {
  const done = reply<RawRun>(child);
  child.send({ batch, ms });
  return done;
}

export type RawBaseline = Awaited<ReturnType<typeof openRaw>>;
export type RawPoint = Awaited<ReturnType<RawBaseline['measure']>>;

export async function openRaw(options: RawSessionOptions & { sessions: number }) {
  const { sessions, intraOpThreads } = options;
  const children = Array.from({ length: sessions }, () =>
    fork(SESSION_SCRIPT, [JSON.stringify(options)], { execArgv: childExecArgv() }),
  );
  await Promise.all(children.map((c) => reply(c))); // ready
  return {
    sessions,
    intraOpThreads,
    /** All sessions run `batch` back to back for `ms` at once: samples/s and per-run latency. */
    async measure(batch: number, ms: number) {
      const runs = await Promise.all(children.map((c) => run(c, batch, ms)));
      const samples = runs.reduce((n, r) => n + r.times.length * batch, 0);
      const samplesPerSec = (samples * 1000) / Math.max(...runs.map((r) => r.elapsedMs));
      return { batch, samplesPerSec, run: summarize(runs.flatMap((r) => r.times)) };
    },
    /** One session alone at batch 1: the model's own time for a lone request. */
    async single(ms: number) {
      return summarize((await run(children[0]!, 1, ms)).times);
    },
    async close() {
      const exited = children.map((c) => once(c, 'exit'));
      for (const c of children) c.disconnect();
      await Promise.all(exited);
    },
  };
}

export type RawMeasurement = Awaited<ReturnType<typeof sweep>>;

/** Every batch size in turn; the best point is the limit of this configuration. */
export async function sweep(raw: RawBaseline, batches: readonly number[], ms: number) {
  const points: RawPoint[] = [];
  for (const batch of batches) points.push(await raw.measure(batch, ms));
  const best = points.reduce((a, b) => (b.samplesPerSec > a.samplesPerSec ? b : a));
  return { sessions: raw.sessions, intraOpThreads: raw.intraOpThreads, points, best };
}

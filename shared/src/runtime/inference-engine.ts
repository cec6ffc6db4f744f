/**
 * Inference engine: a pool of worker_threads, each holding its own onnxruntime-node session, so that
 * inference never blocks the event loop. `run` goes to the least busy worker; a worker that dies is
 * replaced and its pending runs fail with INTERNAL (never hang). With `inlineMaxMs`, a lone cheap
 * single-sample run on an idle engine and a quiet event loop runs on this thread instead, saving the
 * worker hop (inline-lane.ts says when).
 */
import { Worker } from 'node:worker_threads';
import { FoglineError } from '../core/errors.ts';
import { defaultEngineSizing } from './engine-sizing.ts';
import { InlineLane } from './inline-lane.ts';
import type { TensorFeeds, TensorMap, WorkerReply } from './worker-protocol.ts';

export type { TensorData, TensorFeeds, TensorMap, TensorValue } from './worker-protocol.ts';

const WORKER_URL = new URL('./inference-worker.mjs', import.meta.url);

export interface InferenceEngineOptions {
  modelPath: string;
  /** Pool size; default fitted to `os.availableParallelism()`. */
  workers?: number;
  /** onnxruntime intra-op threads per session; default fitted to the cores. */
  intraOpThreads?: number;
  /**
   * Longest expected single-sample run, ms, that may run on this thread when the engine is idle and
   * the event loop quiet (inline-lane.ts); default none: every run goes to a worker. The event loop
   * is blocked while such a run lasts, so tiers whose loop must never stall (the edge's broker)
   * leave it off.
   */
  inlineMaxMs?: number;
  /**
   * Start the workers one after another (each loads its session before the next starts) instead of
   * all at once. onnxruntime's InferenceSession.create runs synchronously on its thread (~0.1 s for
   * digits-mid, more on a Pi), so N workers starting together take N cores for that long: a model
   * loaded beside a serving one (an edge deployment) starts one by one and takes one core at a time.
   */
  oneByOne?: boolean;
}

export interface RunOptions {
  /** Output names to compute; default all. */
  outputs?: readonly string[];
  /**
   * Hand the input buffers to the worker instead of copying them: the caller says that each feed's
   * whole ArrayBuffer is its own to give (a view of a shared one, e.g. Node's Buffer pool, must not
   * be passed so), and does not use it afterwards.
   */
  transfer?: boolean;
  /**
   * With `transfer`: an engine done with a transferred input buffer may hand it back here once the
   * run has ended, for the caller to reuse (the worker pool and the inline lane do; others let it go).
   */
  recycle?: (buffer: ArrayBuffer) => void;
  /**
   * When the answer is due (`performance.now()` ms): an engine that can give up (a remote one) fails
   * with DEADLINE_EXCEEDED by then; the local pool runs to the end and ignores it.
   */
  deadlineAt?: number;
}

export interface InferenceEngine {
  readonly modelPath: string;
  readonly workers: number;
  readonly intraOpThreads: number;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Each input's dims as the model declares them (-1 for open ones), in `inputNames` order. */
  readonly inputDims: readonly (readonly number[])[];
  run(feeds: TensorFeeds, options?: RunOptions): Promise<TensorMap>;
  /**
   * Runs once on every worker so the first requests do not pay for lazy initialisation; without
   * `feeds`, each worker builds zero inputs of batch 1 from the model's metadata.
   */
  warmup(feeds?: TensorFeeds): Promise<void>;
  /** Runs currently executing. */
  readonly busy: number;
  /** Runs that ran on this thread instead of a worker (`inlineMaxMs`). */
  readonly inlineRuns: number;
  close(): Promise<void>;
}

interface PendingRun {
  resolve: (out: TensorMap) => void;
  reject: (err: unknown) => void;
  /** Where the transferred input buffers the worker hands back go (RunOptions.recycle). */
  recycle?: ((buffer: ArrayBuffer) => void) | undefined;
}

interface PooledWorker {
  worker: Worker;
  pending: Map<number, PendingRun>;
}

/** Starts the pool and resolves once every session is loaded; rejects (INVALID_ARG) if the model fails to load. */
export async function createInferenceEngine(options: InferenceEngineOptions): Promise<InferenceEngine> {
  const defaults = defaultEngineSizing();
  const workers = options.workers ?? defaults.workers;
  const intraOpThreads = options.intraOpThreads ?? defaults.intraOpThreads;
  for (const [name, v] of [
    ['workers', workers],
    ['intraOpThreads', intraOpThreads],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 256) {
      throw new FoglineError(
        'INVALID_ARG',
        `inference engine: ${name} must be an integer in 1..256, got ${v}`,
      );
    }
  }
  const { modelPath } = options;
  let names = { inputNames: [] as string[], outputNames: [] as string[], inputDims: [] as number[][] };
  let nextId = 1;
  let closed = false;
  let busy = 0;

  const spawn = async (): Promise<PooledWorker> => {
    const worker = new Worker(WORKER_URL, { workerData: { modelPath, intraOpThreads } });
    const pooled: PooledWorker = { worker, pending: new Map() };
    await new Promise<void>((resolve, reject) => {
      const onInit = (msg: WorkerReply) => {
        if (msg.type === 'init-error') {
          void worker.terminate();
          reject(new FoglineError('INVALID_ARG', `cannot load model ${modelPath}: ${msg.message}`));
        } else if (msg.type === 'ready') {
          names = { inputNames: msg.inputNames, outputNames: msg.outputNames, inputDims: msg.inputDims };
          worker.off('message', onInit);
          worker.off('error', reject);
          resolve();
        }
      };
      worker.on('message', onInit);
      worker.once('error', reject);
    });
    worker.on('message', (msg: WorkerReply) => {
      if (msg.type !== undefined) return;
      const call = pooled.pending.get(msg.id);
      if (!call) return;
      pooled.pending.delete(msg.id);
      if (msg.inputs !== undefined && call.recycle) for (const b of msg.inputs) call.recycle(b);
      if (msg.error !== undefined) call.reject(new FoglineError('INTERNAL', `onnxruntime: ${msg.error}`));
      else call.resolve(msg.outputs);
    });
    const fail = (why: string) => {
      for (const call of pooled.pending.values()) call.reject(new FoglineError('INTERNAL', why));
      pooled.pending.clear();
    };
    worker.on('error', (err) => fail(`inference worker failed: ${err.message}`));
    worker.on('exit', (code) => {
      fail(`inference worker exited (code ${code})`);
      if (closed) return;
      const index = pool.indexOf(pooled);
      // Replace the dead worker; if the model cannot even load any more, the slot stays empty.
      spawn().then(
        (fresh) => {
          if (closed) void fresh.worker.terminate();
          else if (index >= 0) pool[index] = fresh;
        },
        () => {},
      );
    });
    return pooled;
  };

  const pool: PooledWorker[] = [];
  try {
    if (options.oneByOne) for (let i = 0; i < workers; i++) pool.push(await spawn());
    else for (const w of await Promise.all(Array.from({ length: workers }, spawn))) pool.push(w);
  } catch (err) {
    closed = true;
    await Promise.all(pool.map((p) => p.worker.terminate()));
    throw err;
  }

  let inline: InlineLane | undefined;
  if (options.inlineMaxMs !== undefined && options.inlineMaxMs > 0) {
    try {
      inline = await InlineLane.open({ modelPath, intraOpThreads, maxMs: options.inlineMaxMs });
    } catch (err) {
      closed = true;
      await Promise.all(pool.map((p) => p.worker.terminate()));
      throw err;
    }
  }

  const pick = (): PooledWorker => {
    let best = pool[0]!;
    for (const w of pool) if (w.pending.size < best.pending.size) best = w;
    return best;
  };

  const run = (feeds: TensorFeeds, runOptions: RunOptions = {}): Promise<TensorMap> => {
    if (closed) return Promise.reject(new FoglineError('UNAVAILABLE', 'inference engine is closed'));
    if (!inline) return runOnWorker(feeds, runOptions);
    return inline.takes(feeds, busy)
      ? runInline(inline, feeds, runOptions)
      : runTimed(inline, feeds, runOptions);
  };

  // Each settles the lane (its time) after the run: one async function per run, no promise chain of
  // closures, since a lone request's latency is what the lane is for.
  const runInline = async (
    lane: InlineLane,
    feeds: TensorFeeds,
    runOptions: RunOptions,
  ): Promise<TensorMap> => {
    const started = performance.now();
    busy++;
    try {
      return await lane.run(feeds, runOptions.outputs);
    } catch (err) {
      throw new FoglineError('INTERNAL', `onnxruntime: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      busy--;
      lane.settled(feeds, performance.now() - started);
      // The run has ended and never took the buffers: they go back as a worker's would.
      if (runOptions.transfer && runOptions.recycle)
        for (const b of inputBuffers(feeds)) runOptions.recycle(b);
    }
  };

  const runTimed = async (
    lane: InlineLane,
    feeds: TensorFeeds,
    runOptions: RunOptions,
  ): Promise<TensorMap> => {
    const started = performance.now();
    try {
      return await runOnWorker(feeds, runOptions);
    } finally {
      lane.settled(feeds, performance.now() - started);
    }
  };

  const runOnWorker = (feeds: TensorFeeds, runOptions: RunOptions): Promise<TensorMap> => {
    const target = pick();
    const id = nextId++;
    const transfer = runOptions.transfer ? inputBuffers(feeds) : [];
    // The worker hands transferred inputs back only to a caller that takes them.
    const handBack = transfer.length > 0 && runOptions.recycle !== undefined;
    busy++;
    return new Promise<TensorMap>((resolve, reject) => {
      target.pending.set(id, { resolve, reject, recycle: handBack ? runOptions.recycle : undefined });
      target.worker.postMessage({ id, feeds, outputs: runOptions.outputs, handBack }, transfer);
    }).finally(() => {
      busy--;
    });
  };

  return {
    modelPath,
    workers,
    intraOpThreads,
    get inputNames() {
      return names.inputNames;
    },
    get outputNames() {
      return names.outputNames;
    },
    get inputDims() {
      return names.inputDims;
    },
    get busy() {
      return busy;
    },
    get inlineRuns() {
      return inline?.runs ?? 0;
    },
    run,
    async warmup(feeds) {
      // Each worker gets one run: post directly so every session is exercised, not just the first.
      if (inline && feeds) await inline.warmup(feeds);
      await Promise.all(
        pool.map(
          (target) =>
            new Promise<TensorMap>((resolve, reject) => {
              const id = nextId++;
              target.pending.set(id, { resolve, reject });
              target.worker.postMessage({ id, feeds });
            }),
        ),
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(pool.map((p) => p.worker.terminate()));
      await inline?.close();
    },
  };
}

/** The distinct ArrayBuffers under `feeds` (what a run with `transfer` gives and hands back). */
function inputBuffers(feeds: TensorFeeds): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const name in feeds) {
    const b = feeds[name]!.data.buffer;
    if (b instanceof ArrayBuffer && !buffers.includes(b)) buffers.push(b);
  }
  return buffers;
}

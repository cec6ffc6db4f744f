/**
 * The inline lane of an InferenceEngine: one more onnxruntime session, on the engine's own (main)
 * thread, that takes a lone single-sample run when nothing else is going on, instead of handing it
 * to a worker. A worker hop costs two thread wake-ups (the worker's, then the event loop's for the
 * reply), each tens of µs on an idle machine and far more on a busy one; that is most of what a
 * gateway adds to a lone request's latency beyond HTTP itself (`npm run bench -- cloud`, c=1).
 *
 * It blocks the event loop while it runs, so it only runs when that costs nobody anything:
 * - the engine has no run in flight (the workers are idle, so none is waiting on the loop), and
 * - the event loop has gone round once with no run asked for since the last one settled: a request
 *   that arrived while the previous one ran inline finds the loop still busy and goes to a worker,
 *   so concurrent clients never queue behind one another on the main thread, and
 * - a single-sample run is expected to take at most `maxMs` (a moving average over every
 *   single-sample run, inline or through a worker, seeded by the warm-up): a costly model, or a
 *   machine so loaded that runs have slowed, keeps to the workers.
 */
import * as ort from 'onnxruntime-node';
import { type NativeSession, openNativeSession } from './native-session.ts';
import { servingSessionOptions } from './session-options.mjs';
import type { TensorFeeds, TensorMap } from './worker-protocol.ts';

const WEIGHT = 0.2;

export interface InlineLaneOptions {
  readonly modelPath: string;
  readonly intraOpThreads: number;
  /** Longest expected single-sample run the lane takes, ms. */
  readonly maxMs: number;
}

export class InlineLane {
  /** Runs this lane has taken. */
  runs = 0;
  private estimateMs: number | undefined;
  /** Runs asked of the engine so far; the loop is quiet once it has gone round with none asked. */
  private asked = 0;
  private quiet = true;

  /** Every output, as the native session is asked for them when the caller names none. */
  private readonly allOutputs: Record<string, null> = {};

  private constructor(
    /** Run synchronously here (native-session.ts), or through the public API where that is missing. */
    private readonly session: { native: NativeSession } | { public: ort.InferenceSession },
    private readonly maxMs: number,
  ) {
    const names = 'native' in session ? session.native.outputNames : session.public.outputNames;
    for (const name of names) this.allOutputs[name] = null;
  }

  static async open(options: InlineLaneOptions): Promise<InlineLane> {
    // As in the workers (inference-worker.mjs).
    const sessionOptions = servingSessionOptions(options.intraOpThreads);
    const native = openNativeSession(options.modelPath, sessionOptions);
    return new InlineLane(
      native ? { native } : { public: await ort.InferenceSession.create(options.modelPath, sessionOptions) },
      options.maxMs,
    );
  }

  /** Called for every run the engine is asked for; true when this lane should take it. */
  takes(feeds: TensorFeeds, engineBusy: number): boolean {
    this.asked++;
    const wasQuiet = this.quiet;
    this.quiet = false;
    return (
      wasQuiet &&
      engineBusy === 0 &&
      this.estimateMs !== undefined &&
      this.estimateMs <= this.maxMs &&
      isSingleSample(feeds)
    );
  }

  /** Runs on this thread; the engine counts it as busy meanwhile. */
  async run(feeds: TensorFeeds, outputs?: readonly string[]): Promise<TensorMap> {
    this.runs++;
    const inputs: Record<string, ort.Tensor> = {};
    for (const name in feeds) {
      const { data, dims, type } = feeds[name]!;
      // The type is explicit for float16, whose half bits travel in a Uint16Array.
      inputs[name] = type
        ? new ort.Tensor(type as ort.Tensor.Type, data, dims)
        : new ort.Tensor(data as Float32Array, dims);
    }
    const { session } = this;
    const result =
      'native' in session
        ? session.native.run(inputs, outputs ? fetchesOf(outputs) : this.allOutputs)
        : await (outputs ? session.public.run(inputs, outputs) : session.public.run(inputs));
    const out: TensorMap = {};
    for (const name in result) {
      const tensor = result[name]!;
      out[name] = { data: tensor.data as Float32Array, dims: tensor.dims, type: tensor.type };
    }
    return out;
  }

  /**
   * Every run of the engine ends here, whichever lane took it: a single-sample run's time updates
   * the estimate, and the loop counts as quiet once it goes round with no further run asked for.
   */
  settled(feeds: TensorFeeds, ms: number): void {
    if (isSingleSample(feeds)) {
      this.estimateMs =
        this.estimateMs === undefined ? ms : this.estimateMs + WEIGHT * (ms - this.estimateMs);
    }
    const asked = this.asked;
    setImmediate(() => {
      if (this.asked === asked) this.quiet = true;
    });
  }

  /** Warm-up on this session too (the first run pays for lazy initialisation, so the second is timed). */
  async warmup(feeds: TensorFeeds): Promise<void> {
    await this.run(feeds);
    const started = performance.now();
    await this.run(feeds);
    this.runs -= 2;
    if (isSingleSample(feeds)) this.estimateMs = performance.now() - started;
  }

  async close(): Promise<void> {
    if ('native' in this.session) this.session.native.release();
    else await this.session.public.release();
  }
}

function fetchesOf(outputs: readonly string[]): Record<string, null> {
  const fetches: Record<string, null> = {};
  for (const name of outputs) fetches[name] = null;
  return fetches;
}

function isSingleSample(feeds: TensorFeeds): boolean {
  for (const name in feeds) if (feeds[name]!.dims[0] !== 1) return false;
  return true;
}

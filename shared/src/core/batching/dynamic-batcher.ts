/**
 * Dynamic batcher with Triton's semantics (model_config.proto `dynamic_batching`): requests queue per
 * model; a batch goes to a free execution slot as soon as it reaches `maxBatchSize` or the largest
 * reachable preferred size, or when the oldest request has waited `maxQueueDelayMs`. The queue is
 * bounded (`max_queue_size`): a request past it is rejected with UNAVAILABLE instead of growing memory.
 *
 * While every slot is busy requests keep accumulating, so batches grow with load. When the runner is
 * completely idle (`dispatchWhenIdle`, default on) the first request goes at once: waiting for
 * companions cannot raise throughput then and only adds latency (a single client sees no delay).
 *
 * Pure: time comes from the injected timer, the work from `run`; the cloud and the edge agent share it.
 */
import { type Clock, systemClock } from '../clock.ts';
import { FoglineError } from '../errors.ts';
import { BatchingStats } from './batching-stats.ts';
import { FillEstimate } from './fill-estimate.ts';

/** The clock plus the timers the batcher needs; injected in tests, real timers by default. */
export interface BatchTimer extends Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const systemBatchTimer: BatchTimer = {
  now: () => systemClock.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface DynamicBatcherOptions<TItem, TResult> {
  /** Largest batch handed to `run` (Triton `max_batch_size`). */
  maxBatchSize: number;
  /** How long the oldest queued request may wait for companions (Triton `max_queue_delay_microseconds` / 1000). */
  maxQueueDelayMs: number;
  /** Requests waiting (not yet in a batch) beyond which `submit` rejects with UNAVAILABLE. */
  maxQueueSize: number;
  /** Batch sizes the runner prefers (Triton `preferred_batch_size`); empty = only `maxBatchSize`. */
  preferredBatchSizes?: readonly number[];
  /** Batches that may run at once (one per execution instance / worker). Default 1. */
  maxConcurrentBatches?: number;
  /**
   * Adaptive queue delay: with a slot free, hold a partial batch only while it is filling faster than
   * it would finish (fill-estimate.ts), never past `maxQueueDelayMs`; zero delay when requests are
   * sparse. Default false: the fixed delay of Triton's `max_queue_delay_microseconds`.
   */
  adaptiveQueueDelay?: boolean;
  /** Send the first request at once when no batch is running. Default true. */
  dispatchWhenIdle?: boolean;
  /**
   * Samples an item carries along the batch dim (a request may hold several); default 1. Batches are
   * counted in samples, as in Triton, and never exceed `maxBatchSize` unless one item alone does.
   */
  sizeOf?: (item: TItem) => number;
  /** Runs one batch; must resolve to exactly one result per item, in order. */
  run: (items: TItem[]) => Promise<TResult[]>;
  timer?: BatchTimer;
}

interface Pending<TItem, TResult> {
  item: TItem;
  size: number;
  enqueuedAt: number;
  resolve: (result: TResult) => void;
  reject: (err: unknown) => void;
}

export class DynamicBatcher<TItem, TResult> {
  readonly stats = new BatchingStats();
  private readonly queue: Pending<TItem, TResult>[] = [];
  private readonly preferred: number[];
  private readonly maxConcurrent: number;
  private readonly timer: BatchTimer;
  private running = 0;
  private runningItems = 0;
  private queuedSamples = 0;
  private wakeHandle: unknown = undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly fill: FillEstimate | undefined;

  constructor(private readonly options: DynamicBatcherOptions<TItem, TResult>) {
    const { maxBatchSize, maxQueueDelayMs, maxQueueSize } = options;
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw invalid('maxBatchSize', maxBatchSize);
    if (!(maxQueueDelayMs >= 0)) throw invalid('maxQueueDelayMs', maxQueueDelayMs);
    if (!Number.isInteger(maxQueueSize) || maxQueueSize < 1) throw invalid('maxQueueSize', maxQueueSize);
    this.maxConcurrent = options.maxConcurrentBatches ?? 1;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) {
      throw invalid('maxConcurrentBatches', this.maxConcurrent);
    }
    this.preferred = [...new Set(options.preferredBatchSizes ?? [])]
      .filter((n) => Number.isInteger(n) && n >= 1 && n <= maxBatchSize)
      .sort((a, b) => b - a);
    this.timer = options.timer ?? systemBatchTimer;
    this.fill = options.adaptiveQueueDelay ? new FillEstimate() : undefined;
  }

  /** Requests waiting for a batch. */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** Requests accepted and not yet answered: queued plus in running batches. */
  get pendingCount(): number {
    return this.queue.length + this.runningItems;
  }

  /** Samples waiting for a batch. */
  get queuedSampleCount(): number {
    return this.queuedSamples;
  }

  /** Batches currently running. */
  get inFlightBatches(): number {
    return this.running;
  }

  submit(item: TItem): Promise<TResult> {
    if (this.closed) return Promise.reject(new FoglineError('UNAVAILABLE', 'batcher is closed'));
    if (this.queue.length >= this.options.maxQueueSize) {
      this.stats.rejected++;
      return Promise.reject(
        new FoglineError(
          'UNAVAILABLE',
          `inference queue is full (max_queue_size ${this.options.maxQueueSize})`,
        ),
      );
    }
    const size = this.options.sizeOf ? this.options.sizeOf(item) : 1;
    return new Promise<TResult>((resolve, reject) => {
      const now = this.timer.now();
      this.fill?.noteArrival(now);
      const pending = { item, size, enqueuedAt: now, resolve, reject };
      // Idle runner, empty queue: it would go at once, alone (dispatchWhenIdle); skip the queue.
      if (this.running === 0 && this.queue.length === 0 && (this.options.dispatchWhenIdle ?? true)) {
        this.startBatch([pending]);
        return;
      }
      this.queue.push(pending);
      this.queuedSamples += size;
      this.dispatch();
    });
  }

  /** Stops accepting; queued and running batches still complete. Resolves when all have settled. */
  async drain(): Promise<void> {
    this.closed = true;
    this.dispatch(true);
    if (this.running === 0 && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private dispatch(flush = false): void {
    while (this.running < this.maxConcurrent && this.queue.length > 0) {
      const count = this.readyItemCount(flush || this.closed);
      if (count === 0) break;
      const batch = this.queue.splice(0, count);
      for (const p of batch) this.queuedSamples -= p.size;
      this.startBatch(batch);
    }
    this.scheduleWake();
  }

  /** Number of queued items to send as the next batch now, or 0 to keep waiting. */
  private readyItemCount(flush: boolean): number {
    const { maxBatchSize, maxQueueDelayMs } = this.options;
    // Prefix of the queue that fits in one batch (at least one item), and its sample count.
    let fit = 0;
    let samples = 0;
    const sampleCounts: number[] = [];
    for (const p of this.queue) {
      if (fit > 0 && samples + p.size > maxBatchSize) break;
      fit++;
      samples += p.size;
      sampleCounts.push(samples);
    }
    if (fit < this.queue.length || samples >= maxBatchSize) return fit; // a full batch is ready
    // Triton: form the largest preferred batch size that the queue can fill exactly.
    for (const size of this.preferred) {
      const at = sampleCounts.indexOf(size);
      if (at >= 0) return at + 1;
    }
    if (flush || maxQueueDelayMs === 0) return fit;
    if (this.running === 0 && (this.options.dispatchWhenIdle ?? true)) return fit;
    const now = this.timer.now();
    if (this.fill && !this.fill.worthWaiting(now, samples, this.nextSize(samples))) return fit;
    return now - this.queue[0]!.enqueuedAt >= maxQueueDelayMs ? fit : 0;
  }

  /** The batch size a queue of `samples` fills towards: the next preferred size, else the largest. */
  private nextSize(samples: number): number {
    let next = this.options.maxBatchSize;
    for (const size of this.preferred) if (size > samples) next = size;
    return next;
  }

  private scheduleWake(): void {
    if (this.queue.length === 0 || this.running >= this.maxConcurrent) {
      this.clearWake();
      return;
    }
    const due = Math.min(
      this.queue[0]!.enqueuedAt + this.options.maxQueueDelayMs,
      this.fill?.recheckAt() ?? Number.POSITIVE_INFINITY,
    );
    if (this.wakeHandle !== undefined && this.wakeAt <= due) return;
    this.clearWake();
    this.wakeAt = due;
    this.wakeHandle = this.timer.setTimeout(
      () => {
        this.wakeHandle = undefined;
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.dispatch();
      },
      Math.max(0, due - this.timer.now()),
    );
  }

  private clearWake(): void {
    if (this.wakeHandle === undefined) return;
    this.timer.clearTimeout(this.wakeHandle);
    this.wakeHandle = undefined;
    this.wakeAt = Number.POSITIVE_INFINITY;
  }

  private startBatch(batch: Pending<TItem, TResult>[]): void {
    this.running++;
    this.runningItems += batch.length;
    const startedAt = this.timer.now();
    let queueMs = 0;
    let samples = 0;
    for (const p of batch) {
      queueMs += startedAt - p.enqueuedAt;
      samples += p.size;
    }
    this.stats.recordBatchStart(samples, batch.length, queueMs);
    let results: Promise<TResult[]>;
    try {
      results = this.options.run(batch.map((p) => p.item));
    } catch (err) {
      results = Promise.reject(err);
    }
    results.then(
      (out) => {
        if (!Array.isArray(out) || out.length !== batch.length) {
          const err = new FoglineError(
            'INTERNAL',
            `batch runner returned ${out?.length} results for ${batch.length}`,
          );
          for (const p of batch) p.reject(err);
          this.finishBatch(samples, batch.length, queueMs, startedAt, false);
          return;
        }
        for (let i = 0; i < batch.length; i++) batch[i]!.resolve(out[i] as TResult);
        this.finishBatch(samples, batch.length, queueMs, startedAt, true);
      },
      (err: unknown) => {
        for (const p of batch) p.reject(err);
        this.finishBatch(samples, batch.length, queueMs, startedAt, false);
      },
    );
  }

  private finishBatch(samples: number, items: number, queueMs: number, startedAt: number, ok: boolean): void {
    this.running--;
    this.runningItems -= items;
    const ms = this.timer.now() - startedAt;
    this.stats.recordBatchEnd(samples, items, queueMs, ms, ok);
    if (ok) this.fill?.noteBatch(samples, ms);
    this.dispatch();
    if (this.running === 0 && this.queue.length === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

function invalid(name: string, value: unknown): FoglineError {
  return new FoglineError('INVALID_ARG', `dynamic batching: invalid ${name}: ${value}`);
}

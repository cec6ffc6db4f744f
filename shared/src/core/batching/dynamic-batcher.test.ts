import { describe, expect, it } from 'vitest';
import { FoglineError } from '../errors.ts';
import { type BatchTimer, DynamicBatcher } from './dynamic-batcher.ts';

/** A hand-driven timer: time moves only when the test says so. */
class ManualTimer implements BatchTimer {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const [id, timer] of [...this.timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at <= this.t) {
        this.timers.delete(id);
        timer.fn();
      }
    }
  }
}

/** A runner whose batches complete only when the test releases them. */
function heldRunner() {
  const batches: { items: number[]; release: () => void; fail: (e: unknown) => void }[] = [];
  const run = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      batches.push({ items, release: () => resolve(items.map((x) => x * 10)), fail: reject });
    });
  return { batches, run };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('DynamicBatcher', () => {
  it('sends the first request at once when idle, then batches what queues while busy', async () => {
    const timer = new ManualTimer();
    const { batches, run } = heldRunner();
    const b = new DynamicBatcher({ maxBatchSize: 8, maxQueueDelayMs: 5, maxQueueSize: 100, run, timer });
    const first = b.submit(1);
    expect(batches.map((x) => x.items)).toEqual([[1]]);
    const rest = [2, 3, 4].map((x) => b.submit(x));
    expect(batches).toHaveLength(1);
    expect(b.pendingCount).toBe(4);
    batches[0]!.release();
    expect(await first).toBe(10);
    await flush();
    expect(batches[1]!.items).toEqual([2, 3, 4]);
    batches[1]!.release();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(b.stats.snapshot().batches).toEqual([
      { batchSize: 1, count: 1, computeMs: 0 },
      { batchSize: 3, count: 1, computeMs: 0 },
    ]);
  });

  it('waits at most maxQueueDelayMs for companions while a slot is free but the runner is busy', async () => {
    const timer = new ManualTimer();
    const { batches, run } = heldRunner();
    const b = new DynamicBatcher({
      maxBatchSize: 8,
      maxQueueDelayMs: 5,
      maxQueueSize: 100,
      maxConcurrentBatches: 2,
      run,
      timer,
    });
    void b.submit(1); // idle: goes alone
    void b.submit(2);
    timer.advance(2);
    void b.submit(3);
    expect(batches).toHaveLength(1);
    timer.advance(3); // oldest (2) has now waited 5 ms
    expect(batches.map((x) => x.items)).toEqual([[1], [2, 3]]);
  });

  describe('adaptive queue delay', () => {
    /** Two slots, preferred 4 and 8, delay cap 10 ms; one batch of 1 sample measured at 4 ms. */
    async function measured(adaptiveQueueDelay: boolean) {
      const timer = new ManualTimer();
      const { batches, run } = heldRunner();
      const b = new DynamicBatcher({
        maxBatchSize: 8,
        preferredBatchSizes: [4, 8],
        maxQueueDelayMs: 10,
        maxQueueSize: 100,
        maxConcurrentBatches: 2,
        adaptiveQueueDelay,
        run,
        timer,
      });
      void b.submit(1); // idle: alone
      timer.advance(4);
      batches[0]!.release(); // 4 ms for one sample
      await flush();
      void b.submit(2); // idle again: alone, and it keeps one slot busy from here on
      return { timer, batches, b };
    }

    it('holds a partial batch while requests arrive faster than the batch would run', async () => {
      const { timer, batches, b } = await measured(true);
      for (const x of [3, 4, 5]) {
        timer.advance(1);
        void b.submit(x);
        expect(batches).toHaveLength(2); // 3 more at 1 ms gaps fill 4 sooner than 4 samples would run
      }
      timer.advance(1);
      void b.submit(6);
      expect(batches.map((x) => x.items)).toEqual([[1], [2], [3, 4, 5, 6]]);
    });

    it('sends the partial batch as soon as the requests stop coming, before the cap', async () => {
      const { timer, batches, b } = await measured(true);
      timer.advance(1);
      void b.submit(3); // average gap now 3.4 ms: waits, rechecks 6.8 ms later
      timer.advance(6);
      expect(batches).toHaveLength(2);
      timer.advance(1); // 7 ms after the last arrival, 3 ms before the 10 ms cap
      expect(batches.map((x) => x.items)).toEqual([[1], [2], [3]]);
    });

    it('does not wait when requests are sparse, where a fixed delay would', async () => {
      for (const adaptive of [true, false]) {
        const { timer, batches, b } = await measured(adaptive);
        timer.advance(100);
        void b.submit(3); // 100 ms after the last: no batch fills by waiting
        expect(batches.length).toBe(adaptive ? 3 : 2);
        timer.advance(10);
        expect(batches.at(-1)!.items).toEqual([3]);
      }
    });
  });

  it('applies Triton semantics strictly when dispatchWhenIdle is off', () => {
    const timer = new ManualTimer();
    const { batches, run } = heldRunner();
    const b = new DynamicBatcher({
      maxBatchSize: 4,
      maxQueueDelayMs: 10,
      maxQueueSize: 100,
      dispatchWhenIdle: false,
      run,
      timer,
    });
    void b.submit(1);
    timer.advance(9);
    expect(batches).toHaveLength(0);
    timer.advance(1);
    expect(batches.map((x) => x.items)).toEqual([[1]]);
  });

  it('sends a full batch immediately and never exceeds maxBatchSize', () => {
    const timer = new ManualTimer();
    const { batches, run } = heldRunner();
    const b = new DynamicBatcher({
      maxBatchSize: 3,
      maxQueueDelayMs: 1000,
      maxQueueSize: 100,
      maxConcurrentBatches: 3,
      dispatchWhenIdle: false,
      run,
      timer,
    });
    for (let i = 0; i < 7; i++) void b.submit(i);
    expect(batches.map((x) => x.items)).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(b.queueDepth).toBe(1);
  });

  it('forms the largest preferred batch size the queue can fill', () => {
    const timer = new ManualTimer();
    const { batches, run } = heldRunner();
    const b = new DynamicBatcher({
      maxBatchSize: 16,
      maxQueueDelayMs: 1000,
      maxQueueSize: 100,
      preferredBatchSizes: [2, 4],
      dispatchWhenIdle: false,
      run,
      timer,
    });
    void b.submit(0);
    expect(batches).toHaveLength(0);
    void b.submit(1);
    expect(batches.map((x) => x.items)).toEqual([[0, 1]]);
  });

  it('counts batches in samples when items carry several (sizeOf)', async () => {
    const timer = new ManualTimer();
    const { batches, run } = heldRunner();
    const b = new DynamicBatcher({
      maxBatchSize: 8,
      maxQueueDelayMs: 1000,
      maxQueueSize: 100,
      maxConcurrentBatches: 4,
      dispatchWhenIdle: false,
      sizeOf: (x: number) => x,
      run,
      timer,
    });
    for (const x of [3, 3, 3]) void b.submit(x);
    expect(batches.map((x) => x.items)).toEqual([[3, 3]]);
    expect(b.queuedSampleCount).toBe(3);
    batches[0]!.release();
    await flush();
    expect(b.stats.snapshot()).toMatchObject({ executions: 1, inferences: 6 });
  });

  it('rejects with UNAVAILABLE when the queue is full, and counts it', async () => {
    const timer = new ManualTimer();
    const { run } = heldRunner();
    const b = new DynamicBatcher({ maxBatchSize: 1, maxQueueDelayMs: 0, maxQueueSize: 2, run, timer });
    void b.submit(1); // running
    void b.submit(2);
    void b.submit(3);
    const err = await b.submit(4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FoglineError);
    expect((err as FoglineError).code).toBe('UNAVAILABLE');
    expect(b.stats.rejected).toBe(1);
  });

  it('fails every item of a failed batch and keeps serving', async () => {
    const timer = new ManualTimer();
    const { batches, run } = heldRunner();
    const b = new DynamicBatcher({ maxBatchSize: 4, maxQueueDelayMs: 0, maxQueueSize: 10, run, timer });
    const a = b.submit(1);
    batches[0]!.fail(new Error('boom'));
    await expect(a).rejects.toThrow('boom');
    const next = b.submit(2);
    batches[1]!.release();
    expect(await next).toBe(20);
    // Triton: a failed batch counts its requests as failures only, not as an execution.
    expect(b.stats.snapshot()).toMatchObject({ success: 1, failure: 1, executions: 1, inferences: 1 });
    expect(b.stats.snapshot().batches).toEqual([{ batchSize: 1, count: 1, computeMs: 0 }]);
  });

  it('rejects a runner that answers the wrong number of results', async () => {
    const b = new DynamicBatcher<number, number>({
      maxBatchSize: 4,
      maxQueueDelayMs: 0,
      maxQueueSize: 10,
      run: async () => [],
    });
    await expect(b.submit(1)).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('drain() finishes queued and running work, then refuses new work', async () => {
    const timer = new ManualTimer();
    const { batches, run } = heldRunner();
    const b = new DynamicBatcher({ maxBatchSize: 4, maxQueueDelayMs: 50, maxQueueSize: 10, run, timer });
    const p1 = b.submit(1);
    const p2 = b.submit(2);
    const drained = b.drain();
    await expect(b.submit(3)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    batches[0]!.release();
    await flush();
    batches[1]!.release();
    await drained;
    expect(await Promise.all([p1, p2])).toEqual([10, 20]);
  });

  it('validates its options', () => {
    const run = async (xs: number[]) => xs;
    expect(() => new DynamicBatcher({ maxBatchSize: 0, maxQueueDelayMs: 0, maxQueueSize: 1, run })).toThrow(
      FoglineError,
    );
    expect(() => new DynamicBatcher({ maxBatchSize: 1, maxQueueDelayMs: -1, maxQueueSize: 1, run })).toThrow(
      FoglineError,
    );
  });
});

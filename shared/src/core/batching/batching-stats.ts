/**
 * Counters a DynamicBatcher keeps, shaped after Triton's statistics extension: executions, items,
 * queue and compute time, and per batch size how many batches ran and for how long.
 */
export interface BatchSizeStats {
  batchSize: number;
  count: number;
  computeMs: number;
}

export interface BatchingSnapshot {
  /** Requests (items) answered successfully / with an error. */
  success: number;
  failure: number;
  /** Batches handed to the runner (Triton `execution_count`). */
  executions: number;
  /** Samples run (Triton `inference_count`). */
  inferences: number;
  /** Items rejected because the queue was full. */
  rejected: number;
  /** Summed time items waited in the queue / batches spent in the runner. */
  queueMs: number;
  computeMs: number;
  batches: BatchSizeStats[];
}

export class BatchingStats {
  success = 0;
  failure = 0;
  executions = 0;
  inferences = 0;
  rejected = 0;
  queueMs = 0;
  computeMs = 0;
  private readonly bySize = new Map<number, BatchSizeStats>();
  private readonly listeners: ((samples: number, items: number, queueMs: number) => void)[] = [];

  /** Called once per batch as it starts; `queueMs` is summed over its items. */
  recordBatchStart(samples: number, items: number, queueMs: number): void {
    this.executions++;
    this.inferences += samples;
    this.queueMs += queueMs;
    for (const l of this.listeners) l(samples, items, queueMs);
  }

  /** `size` is the batch size in samples; `items` the requests in it. */
  recordBatchEnd(size: number, items: number, computeMs: number, ok: boolean): void {
    this.computeMs += computeMs;
    if (ok) this.success += items;
    else this.failure += items;
    const entry = this.bySize.get(size) ?? { batchSize: size, count: 0, computeMs: 0 };
    entry.count++;
    entry.computeMs += computeMs;
    this.bySize.set(size, entry);
  }

  /** Observes every batch start (used to feed metrics such as a batch-size histogram). */
  onBatch(listener: (samples: number, items: number, queueMs: number) => void): void {
    this.listeners.push(listener);
  }

  snapshot(): BatchingSnapshot {
    return {
      success: this.success,
      failure: this.failure,
      executions: this.executions,
      inferences: this.inferences,
      rejected: this.rejected,
      queueMs: this.queueMs,
      computeMs: this.computeMs,
      batches: [...this.bySize.values()].sort((a, b) => a.batchSize - b.batchSize).map((b) => ({ ...b })),
    };
  }
}

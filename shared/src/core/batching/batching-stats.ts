/**
 * Counters a DynamicBatcher keeps, shaped after Triton's statistics extension: executions, items,
 * queue and compute time, and per batch size how many batches ran and for how long. As Triton's
 * (model_statistics.proto), the executions, samples, queue and compute times are those of batches
 * that succeeded; a failed batch counts its requests in `failure` only.
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
  /** Batches run successfully (Triton `execution_count`). */
  executions: number;
  /** Samples run in them (Triton `inference_count`). */
  inferences: number;
  /** Items rejected because the queue was full. */
  rejected: number;
  /** Summed time the items of successful batches waited in the queue / those batches ran. */
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

  /** Called once per batch as it starts (its listeners); `queueMs` is summed over its items. */
  recordBatchStart(samples: number, items: number, queueMs: number): void {
    for (const l of this.listeners) l(samples, items, queueMs);
  }

  /**
   * `size` is the batch size in samples; `items` the requests in it, which waited `queueMs` in all.
   * Only a successful batch counts as an execution, with its samples and times (Triton).
   */
  recordBatchEnd(size: number, items: number, queueMs: number, computeMs: number, ok: boolean): void {
    if (!ok) {
      this.failure += items;
      return;
    }
    this.success += items;
    this.executions++;
    this.inferences += size;
    this.queueMs += queueMs;
    this.computeMs += computeMs;
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

/**
 * The buffers a batch runner lays a batch's inputs into, reused: each is as large as the model's
 * largest batch of one input, handed to an inference worker with the run and handed back by it with
 * the outputs (RunOptions.recycle). A fresh buffer per batch (~120 kB for 38 digits) was allocated
 * zeroed, transferred, and freed on the worker's thread, so its pages were faulted in and zeroed
 * again for nearly every batch: on a 2-core edge under load, about one page fault per request.
 *
 * A buffer only ever holds the bytes of a batch of its own model instance; the runner writes exactly
 * the bytes it feeds (`total × sample bytes` from 0), so a reused buffer needs no zeroing. At most
 * `keep` buffers wait here; buffers larger than MAX_POOLED_BYTES are never pooled (a big model's
 * batch would hold that much memory idle), nor are batches larger than the capacity.
 */

/** Largest buffer kept for reuse (2 MiB: 64 samples of 32 kB; digits-mid's batch of 64 is 200 kB). */
export const MAX_POOLED_BYTES = 2 * 1024 * 1024;

export class InputBuffers {
  private readonly free: ArrayBuffer[] = [];
  /** Bytes of every pooled buffer; 0 when none is pooled (too large). */
  readonly capacity: number;

  constructor(
    capacity: number,
    private readonly keep: number,
  ) {
    this.capacity = capacity <= MAX_POOLED_BYTES ? capacity : 0;
  }

  /** `bytes` bytes to write into (not zeroed when reused): a view from 0 of a pooled buffer, or a fresh array. */
  take(bytes: number): Uint8Array {
    if (bytes > this.capacity) return new Uint8Array(bytes);
    const buffer = this.free.pop() ?? new ArrayBuffer(this.capacity);
    return new Uint8Array(buffer, 0, bytes);
  }

  /**
   * A buffer handed back by the engine after its run: kept, and true, when it is one of this pool's
   * size and room is left.
   */
  recycle(buffer: ArrayBuffer): boolean {
    // A detached buffer has byteLength 0, never the capacity.
    if (this.capacity === 0 || buffer.byteLength !== this.capacity || this.free.length >= this.keep) {
      return false;
    }
    this.free.push(buffer);
    return true;
  }

  /** Buffers waiting for reuse. */
  get pooled(): number {
    return this.free.length;
  }
}

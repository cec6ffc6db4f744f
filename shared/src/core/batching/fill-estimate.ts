/**
 * What the adaptive queue delay decides from: how fast requests arrive (a moving average of the gaps
 * between them) and how long a batch takes per sample (a moving average over finished batches).
 *
 * A partial batch is worth holding only while it is filling faster than it would finish: the
 * expected time for the queue to reach the next batch size the runner prefers is no longer than
 * that batch's own run time. Otherwise, and whenever requests have stopped coming (no arrival for two
 * average gaps) or nothing has been measured yet, it goes at once: zero delay when idle.
 */
const WEIGHT = 0.2;

export class FillEstimate {
  private gapMs: number | undefined;
  private msPerSample: number | undefined;
  private lastArrival: number | undefined;

  noteArrival(now: number): void {
    if (this.lastArrival !== undefined) this.gapMs = average(this.gapMs, now - this.lastArrival);
    this.lastArrival = now;
  }

  noteBatch(samples: number, ms: number): void {
    if (samples > 0) this.msPerSample = average(this.msPerSample, ms / samples);
  }

  /** Whether `queued` samples should wait to become `target` at `now`. */
  worthWaiting(now: number, queued: number, target: number): boolean {
    const { gapMs, msPerSample, lastArrival } = this;
    if (gapMs === undefined || msPerSample === undefined || lastArrival === undefined) return false;
    if (target <= queued || now - lastArrival >= 2 * gapMs) return false;
    return (target - queued) * gapMs <= target * msPerSample;
  }

  /** When a waiting batch must be looked at again even if nothing arrives (the stream may have stopped). */
  recheckAt(): number {
    if (this.gapMs === undefined || this.lastArrival === undefined) return Number.POSITIVE_INFINITY;
    return this.lastArrival + 2 * this.gapMs;
  }
}

function average(previous: number | undefined, sample: number): number {
  return previous === undefined ? sample : previous + WEIGHT * (sample - previous);
}

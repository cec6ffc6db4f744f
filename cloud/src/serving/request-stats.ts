/** Per-version request counters for the statistics extension: end-to-end time of answered requests. */
export class RequestStats {
  successCount = 0;
  successMs = 0;
  failCount = 0;
  failMs = 0;
  /** Wall-clock time (ms since epoch) of the last answered request; 0 = never. */
  lastInferenceAt = 0;

  record(ok: boolean, durationMs: number, now: number = Date.now()): void {
    if (ok) {
      this.successCount++;
      this.successMs += durationMs;
    } else {
      this.failCount++;
      this.failMs += durationMs;
    }
    this.lastInferenceAt = now;
  }
}

/**
 * How much budget a cloud round trip needs right now: an exponentially weighted moving average of the
 * observed cloud call latencies, times a safety factor, never below a configured floor. The edge
 * escalates only when the remaining budget covers it, so a deadline too short for the cloud gets a
 * normal local answer instead of a cloud call that would time out (and count against the breaker).
 */
export interface CloudBudgetOptions {
  /** Smallest budget ever deemed enough for a round trip, ms. */
  readonly minCloudBudgetMs: number;
  /** Multiplier on the average latency (head-room for its variance). */
  readonly safetyFactor?: number;
  /** Weight of the newest sample in the moving average, in (0, 1]. */
  readonly alpha?: number;
}

export class CloudBudget {
  private averageMs: number | undefined;
  private readonly safetyFactor: number;
  private readonly alpha: number;

  constructor(private readonly options: CloudBudgetOptions) {
    this.safetyFactor = options.safetyFactor ?? 1.5;
    this.alpha = options.alpha ?? 0.2;
  }

  /** Records the latency of a successful cloud call. */
  observe(latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    this.averageMs =
      this.averageMs === undefined ? latencyMs : this.averageMs + this.alpha * (latencyMs - this.averageMs);
  }

  /** Budget (ms) a request must have left before the edge spends it on the cloud. */
  get requiredMs(): number {
    const estimate = this.averageMs === undefined ? 0 : this.averageMs * this.safetyFactor;
    return Math.max(this.options.minCloudBudgetMs, estimate);
  }

  get averageLatencyMs(): number | undefined {
    return this.averageMs;
  }
}

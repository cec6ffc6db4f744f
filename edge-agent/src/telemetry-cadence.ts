/**
 * When the edge publishes its telemetry (docs/edge-agent.md "Telemetry"): every
 * `telemetryIntervalMs`, and at once when something the cloud's controller waits for changes — the
 * drift alarm goes on or off, a routing directive is applied or refused. The controller learns of an
 * alarm, and holds until the edge reports its directive applied, from telemetry; on the interval alone
 * each would wait up to a whole interval (5 s by default), once per bounded step of the fallback.
 * Changes coalesce: one publish per turn of the event loop at most.
 */
export class TelemetryCadence {
  #publish: (() => void) | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending = false;

  start(publish: () => void, intervalMs: number): void {
    this.#publish = publish;
    this.#timer ??= setInterval(publish, intervalMs);
    this.#timer.unref();
  }

  /** Publish now (coalesced); nothing before `start` or after `stop`. */
  now(): void {
    if (this.#publish === undefined || this.#pending) return;
    this.#pending = true;
    setTimeout(() => {
      this.#pending = false;
      this.#publish?.();
    }, 0).unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#publish = undefined;
  }
}

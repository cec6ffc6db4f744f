/**
 * What one deployment cost the edge's serving thread (docs/operations.md "Rollout"): the time of each
 * phase (download, verify, load, warm-up) and the event loop's delay while it ran
 * (perf_hooks.monitorEventLoopDelay), said in the deployer's `serving …` log line. A delay of more
 * than a batch's time would hold the devices' requests back: the broker, the batcher and the replies
 * all run on this thread.
 */
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export const SWAP_PHASES = ['download', 'verify', 'load', 'warm-up'] as const;
export type SwapPhase = (typeof SWAP_PHASES)[number];

/** Sampling resolution of the event-loop delay, ms (the smallest delay it can tell apart). */
const RESOLUTION_MS = 5;

export class SwapCost {
  readonly #delay: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  readonly #ms = new Map<SwapPhase, number>();
  #phase: { name: SwapPhase; from: number } | undefined;
  #line: string | undefined;

  constructor() {
    this.#delay.enable();
  }

  /** Ends the phase under way (if any) and starts `phase` (a phase begun again adds up). */
  begin(phase: SwapPhase): void {
    this.#end();
    this.#phase = { name: phase, from: performance.now() };
  }

  /**
   * Ends the phase under way and stops sampling; `<phase> <n> ms, …; event loop delay …` for the log.
   * Once finished, it says the same again.
   */
  finish(): string {
    if (this.#line !== undefined) return this.#line;
    this.#end();
    this.#delay.disable();
    const phases = SWAP_PHASES.filter((p) => this.#ms.has(p))
      .map((p) => `${p} ${Math.round(this.#ms.get(p)!)} ms`)
      .join(', ');
    // The histogram's values are ns and include the resolution's own wait.
    const over = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS).toFixed(1);
    const loop = `event loop delay p99 ${over(this.#delay.percentile(99))} ms, max ${over(this.#delay.max)} ms`;
    this.#line = phases ? `${phases}; ${loop}` : loop;
    return this.#line;
  }

  #end(): void {
    const p = this.#phase;
    if (p) this.#ms.set(p.name, (this.#ms.get(p.name) ?? 0) + performance.now() - p.from);
    this.#phase = undefined;
  }
}

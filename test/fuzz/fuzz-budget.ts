/**
 * How many cases a fuzz file runs and where it reports them (docs/reliability.md "Fuzz suite").
 *
 * - `FOGLINE_FUZZ_CASES`: cases for the whole suite (default 4,000: the CI slice of `npm test`);
 *   each file takes its `weight` of it. `npm run test:fuzz -- --long` sets 1,000,000.
 * - `FOGLINE_FUZZ_SEED`: the seed of every generator (default fixed, so a failure reproduces).
 * - `FOGLINE_FUZZ_REPORT`: a file each suite appends one JSON line to (test/fuzz/run-fuzz.ts sums them).
 * - `FOGLINE_FUZZ_DEADLINE`: a time (ms since the epoch) past which the suites stop early and report
 *   what they ran (run-fuzz.ts `--max-minutes`).
 */
import { appendFileSync } from 'node:fs';

export const DEFAULT_FUZZ_CASES = 4000;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return n;
}

export const FUZZ_SEED = envInt('FOGLINE_FUZZ_SEED', 0x0f061e);

/** This suite's share of the run's cases (at least `min`). */
export function fuzzCases(weight: number, min = 20): number {
  return Math.max(min, Math.round(envInt('FOGLINE_FUZZ_CASES', DEFAULT_FUZZ_CASES) * weight));
}

const deadline = process.env.FOGLINE_FUZZ_DEADLINE ? Number(process.env.FOGLINE_FUZZ_DEADLINE) : Infinity;

/** Past FOGLINE_FUZZ_DEADLINE: stop fuzzing, report what ran. */
export function outOfTime(): boolean {
  return Date.now() > deadline;
}

/** fast-check options that stop a property at the deadline (not counted as a failure). */
export function untilDeadline(): { interruptAfterTimeLimit?: number; markInterruptAsFailure?: boolean } {
  return Number.isFinite(deadline)
    ? { interruptAfterTimeLimit: Math.max(1, deadline - Date.now()), markInterruptAsFailure: false }
    : {};
}

/** A long run: the per-test timeout grows with the case count. */
export function fuzzTimeoutMs(cases: number, perCaseMs: number): number {
  return Math.max(60_000, Math.ceil(cases * perCaseMs) + 60_000);
}

/** What one suite saw: cases run, crashes (anything but a typed refusal or value), 5xx answers, RSS. */
export interface FuzzTally {
  suite: string;
  cases: number;
  crashes: number;
  status5xx: number;
  rssBeforeMb: number;
  maxRssMb: number;
  rssAfterMb: number;
  /** Outcome → count (e.g. "value", "refused", "400", "closed"). */
  outcomes: Record<string, number>;
}

export class FuzzCounter {
  readonly tally: FuzzTally;
  readonly failures: string[] = [];
  private finished = false;

  constructor(suite: string) {
    const rss = rssMb();
    this.tally = {
      suite,
      cases: 0,
      crashes: 0,
      status5xx: 0,
      rssBeforeMb: rss,
      maxRssMb: rss,
      rssAfterMb: rss,
      outcomes: {},
    };
  }

  count(outcome: string): void {
    this.tally.cases++;
    this.tally.outcomes[outcome] = (this.tally.outcomes[outcome] ?? 0) + 1;
    if ((this.tally.cases & 1023) === 0) this.sampleRss();
  }

  crash(what: string): void {
    this.tally.crashes++;
    if (this.failures.length < 5) this.failures.push(what);
  }

  fiveHundred(what: string): void {
    this.tally.status5xx++;
    if (this.failures.length < 5) this.failures.push(what);
  }

  /** RSS now is the "before" (call once the servers under test have started and warmed up). */
  baseline(): void {
    this.tally.rssBeforeMb = rssMb();
    this.tally.maxRssMb = this.tally.rssBeforeMb;
  }

  sampleRss(): void {
    this.tally.maxRssMb = Math.max(this.tally.maxRssMb, rssMb());
  }

  /** RSS now is the "after" (call before stopping the servers under test). */
  finish(): void {
    this.sampleRss();
    this.tally.rssAfterMb = rssMb();
    this.finished = true;
  }

  /** Most the RSS grew over the baseline, in MB. */
  get rssGrowthMb(): number {
    return this.tally.maxRssMb - this.tally.rssBeforeMb;
  }

  /** Prints one line and appends the tally to $FOGLINE_FUZZ_REPORT. */
  report(): FuzzTally {
    if (!this.finished) this.finish();
    const t = this.tally;
    console.log(
      `fuzz ${t.suite}: ${t.cases} cases, ${t.crashes} crashes, ${t.status5xx} 5xx, ` +
        `RSS ${t.rssBeforeMb} → ${t.rssAfterMb} MB (max ${t.maxRssMb}) ${JSON.stringify(t.outcomes)}`,
    );
    const file = process.env.FOGLINE_FUZZ_REPORT;
    if (file) appendFileSync(file, `${JSON.stringify(t)}\n`);
    return t;
  }
}

export function rssMb(): number {
  return Math.round(process.memoryUsage().rss / 2 ** 20);
}

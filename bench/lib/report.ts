/**
 * The one report writer of the benches: `bench/reports/<name>.json` and `.md`, plus the markdown
 * helpers they share. Reports are committed, so they hold no machine paths: any absolute path under
 * the repository becomes relative to its root, any under the temp folder becomes `<tmp>/...`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { round } from './stats.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPORTS_DIR = new URL('../reports/', import.meta.url);

/** `text` with machine paths made relative (repository) or anonymous (temp folder). */
export function withoutMachinePaths(text: string): string {
  return text.split(REPO_ROOT).join('').split(tmpdir()).join('<tmp>');
}

/** Writes `<name>.json` (numbers to six decimals; thresholds as configs hold them) and `<name>.md`. */
export function writeReport(name: string, report: object, markdown: string): void {
  const json = JSON.stringify(
    report,
    (key, value) => (typeof value === 'number' && !/threshold/i.test(key) ? round(value, 6) : value),
    2,
  );
  mkdirSync(REPORTS_DIR, { recursive: true });
  writeFileSync(new URL(`${name}.json`, REPORTS_DIR), `${withoutMachinePaths(json)}\n`);
  writeFileSync(new URL(`${name}.md`, REPORTS_DIR), withoutMachinePaths(markdown));
  console.log(`\n${markdown}\nwrote bench/reports/${name}.json and bench/reports/${name}.md`);
}

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly node: string;
  readonly platform: string;
  readonly loadavg: number[];
}

export function machine(): Machine {
  return {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavg: loadavg().map((v) => round(v, 2)),
  };
}

/** One line for a report's head: when, where, how busy the box was. */
export function machineLine(at: string, m: Machine): string {
  return `${at} · ${m.cores} cores (${m.cpu}) · ${m.platform} · Node ${m.node} · load average at end ${m.loadavg.join(' ')}`;
}

/**
 * A markdown table from its head and rows, each written as cells joined by ` | `; every column but
 * the first is right-aligned.
 */
export function table(head: string, rows: readonly string[]): string {
  const columns = head.split(' | ').length;
  const rule = `|---|${'---:|'.repeat(columns - 1)}`;
  return [`| ${head} |`, rule, ...rows.map((r) => `| ${r} |`)].join('\n');
}

export const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)} %`;
export const ms = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

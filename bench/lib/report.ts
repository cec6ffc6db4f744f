/**
 * The one report writer: `bench/reports/<name>.json` and `.md`, with no machine paths (repository paths
 * become relative, temp paths `<tmp>/...`); and the markdown helpers the benches share.
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

/** When, how and where a report was taken. */
export function reportHead(name: string, args: readonly string[]) {
  const machine = {
    cores: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavg: loadavg().map((v) => round(v, 2)),
  };
  return { at: new Date().toISOString(), command: ['npm run bench --', name, ...args].join(' '), machine };
}

export type Machine = ReturnType<typeof reportHead>['machine'];

/** One line for a report's head: when, where, how busy the box was. */
export function machineLine(at: string, m: Machine): string {
  return `${at} · ${m.cores} cores (${m.cpu}) · ${m.platform} · Node ${m.node} · load average (1, 5, 15 min, when the report was made) ${m.loadavg.join(' ')}`;
}

/** A markdown table from head and rows written as cells joined by ` | `, right-aligned but the first. */
export function table(head: string, rows: readonly string[]): string {
  const columns = head.split(' | ').length;
  const rule = `|---|${'---:|'.repeat(columns - 1)}`;
  return [`| ${head} |`, rule, ...rows.map((r) => `| ${r} |`)].join('\n');
}

export const pct = (x: number, digits = 1) => `${(100 * x).toFixed(digits)} %`;
export const ms = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

/** A target of a bench: what was measured against its goal. */
export function target(name: string, value: string, goal: string, met: boolean) {
  return { name, value, goal, met };
}

export type Target = ReturnType<typeof target>;

export function targetsTable(targets: readonly Target[]): string {
  const rows = targets.map((t) => `${t.name} | ${t.value} | ${t.goal} | ${t.met ? 'yes' : '**no**'}`);
  return table('target | measured | goal | met', rows);
}

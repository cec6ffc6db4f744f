/**
 * `npm run test:fuzz [-- --long] [-- --report <file>]`: runs the fuzz suite (test/fuzz/*.fuzz.test.ts)
 * and prints its totals: cases, crashes, 5xx answers, RSS. `--long` runs 1,000,000 cases (or
 * FOGLINE_FUZZ_CASES); without it, the CI slice of `npm test`. Exit 1 on any failure, crash or 5xx.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FUZZ_CASES, type FuzzTally } from './fuzz-budget.ts';

const args = process.argv.slice(2);
const long = args.includes('--long');
const reportAt = args.indexOf('--report');
const summaryFile = reportAt >= 0 ? args[reportAt + 1] : undefined;
const cases = process.env.FOGLINE_FUZZ_CASES ?? String(long ? 1_000_000 : DEFAULT_FUZZ_CASES);
const tallyFile = join(mkdtempSync(join(tmpdir(), 'fogline-fuzz-')), 'tallies.jsonl');
writeFileSync(tallyFile, '');

const started = Date.now();
console.log(`fuzz: ${cases} cases requested, seed ${process.env.FOGLINE_FUZZ_SEED ?? 'default'}`);
const run = spawnSync('npx', ['vitest', 'run', 'test/fuzz/', '--maxWorkers=1'], {
  stdio: 'inherit',
  env: { ...process.env, FOGLINE_FUZZ_CASES: cases, FOGLINE_FUZZ_REPORT: tallyFile },
});
const seconds = (Date.now() - started) / 1000;

const tallies = readFileSync(tallyFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as FuzzTally);
const sum = (f: (t: FuzzTally) => number) => tallies.reduce((a, t) => a + f(t), 0);
const summary = {
  cases: sum((t) => t.cases),
  crashes: sum((t) => t.crashes),
  status5xx: sum((t) => t.status5xx),
  maxRssMb: Math.max(0, ...tallies.map((t) => t.maxRssMb)),
  seconds: Math.round(seconds),
  casesPerSecond: Math.round(sum((t) => t.cases) / seconds),
  vitestExit: run.status,
  suites: tallies,
};
console.log(
  `fuzz total: ${summary.cases} cases, ${summary.crashes} crashes, ${summary.status5xx} 5xx, ` +
    `max RSS ${summary.maxRssMb} MB, ${summary.seconds} s (${summary.casesPerSecond} cases/s)`,
);
for (const t of tallies) {
  console.log(
    `  ${t.suite}: ${t.cases} cases, RSS ${t.rssBeforeMb} → ${t.rssAfterMb} MB (max ${t.maxRssMb})`,
  );
}
if (summaryFile) writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
process.exit(run.status === 0 && summary.crashes === 0 && summary.status5xx === 0 ? 0 : 1);

/**
 * `npm run test:fuzz [-- --long] [--max-minutes <n>] [--report <file>]`: runs the fuzz suite
 * (test/fuzz/*.fuzz.test.ts) and prints its totals: cases, crashes, 5xx answers, RSS, rate.
 * `--long` runs 1,000,000 cases (or FOGLINE_FUZZ_CASES); without it, the CI slice of `npm test`.
 * `--max-minutes` (default 20 with --long) stops the suites early and reports what ran.
 * Exit 1 on any failure, crash or 5xx.
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
const minutesAt = args.indexOf('--max-minutes');
const maxMinutes = minutesAt >= 0 ? Number(args[minutesAt + 1]) : long ? 20 : undefined;
if (maxMinutes !== undefined && !(maxMinutes > 0)) throw new Error('--max-minutes must be a positive number');
const cases = process.env.FOGLINE_FUZZ_CASES ?? String(long ? 1_000_000 : DEFAULT_FUZZ_CASES);
const tallyFile = join(mkdtempSync(join(tmpdir(), 'fogline-fuzz-')), 'tallies.jsonl');
writeFileSync(tallyFile, '');

const started = Date.now();
// A minute of the budget is kept for starting and stopping the servers under test.
const deadline = maxMinutes === undefined ? undefined : started + Math.max(1, maxMinutes - 1) * 60_000;
console.log(
  `fuzz: ${cases} cases requested, seed ${process.env.FOGLINE_FUZZ_SEED ?? 'default'}` +
    (maxMinutes === undefined ? '' : `, at most ${maxMinutes} min`),
);
const run = spawnSync('npx', ['vitest', 'run', 'test/fuzz/', '--maxWorkers=1'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    FOGLINE_FUZZ_CASES: cases,
    FOGLINE_FUZZ_REPORT: tallyFile,
    ...(deadline !== undefined && { FOGLINE_FUZZ_DEADLINE: String(deadline) }),
  },
});
const seconds = (Date.now() - started) / 1000;

const tallies = readFileSync(tallyFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as FuzzTally);
const sum = (f: (t: FuzzTally) => number) => tallies.reduce((a, t) => a + f(t), 0);
const summary = {
  requested: Number(cases),
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
  `fuzz total: ${summary.cases} of ${summary.requested} cases, ${summary.crashes} crashes, ${summary.status5xx} 5xx, ` +
    `max RSS ${summary.maxRssMb} MB, ${summary.seconds} s (${summary.casesPerSecond} cases/s)`,
);
for (const t of tallies) {
  console.log(
    `  ${t.suite}: ${t.cases} cases, RSS ${t.rssBeforeMb} → ${t.rssAfterMb} MB (max ${t.maxRssMb})`,
  );
}
if (summaryFile) writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
process.exit(run.status === 0 && summary.crashes === 0 && summary.status5xx === 0 ? 0 : 1);

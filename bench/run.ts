/**
 * `npm run bench -- <name> [flags]`: runs one benchmark; its report lands in bench/reports/<name>.{json,md}.
 * Every benchmark compares against a baseline measured in the same run (this machine is shared and
 * noisy), so its figures are ratios.
 */
import { readFileSync } from 'node:fs';
import { argv } from 'node:process';
import { inspect } from 'node:util';

/** Each benchmark's module, relative to this file; its `HELP`, else its leading doc comment, is its `--help`. */
const BENCHMARKS: Record<string, string> = {
  'audit-latency': './drift/audit-latency.ts',
  'auth-flood': './auth-flood.ts',
  'auth-timing': './auth-timing.ts',
  cloud: './cloud.ts',
  cluster: './cluster.ts',
  'cluster-state': './cluster-state.ts',
  drift: './drift.ts',
  fabric: './fabric.ts',
  models: './models.ts',
  rollout: './rollout/index.ts',
  shifts: './shifts.ts',
  soak: './soak.ts',
  stitched: './stitched.ts',
  'response-cache': './response-cache.ts',
};
const available = Object.keys(BENCHMARKS).join(', ');

const [name, ...args] = argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <name> [flags]\n\nbenchmarks: ${available}`);
  process.exit(name ? 0 : 1);
}
const module = BENCHMARKS[name];
if (!module) {
  console.error(`bench: unknown benchmark "${name}" (have: ${available})`);
  process.exit(1);
}
// The benches run fogline's servers in this process: a rejection nobody handled is a bug (the bench's
// or fogline's), reported as such with its stack, never a silent crash.
process.on('unhandledRejection', (reason) => {
  console.error(`bench ${name}: FAILED on an unhandled promise rejection (a bug): ${inspect(reason)}`);
  process.exit(1);
});
const url = new URL(module, import.meta.url);
const bench = (await import(url.href)) as { default: (args: string[]) => Promise<void>; HELP?: string };
if (args.includes('--help') || args.includes('-h')) {
  console.log(bench.HELP ?? leadingDocComment(readFileSync(url, 'utf8')));
  process.exit(0);
}
await bench.default(args);

/** The text of a module's first `/** … *\/` comment, without its frame. */
function leadingDocComment(source: string): string {
  const match = /\/\*\*([\s\S]*?)\*\//.exec(source);
  if (!match?.[1]) return `npm run bench -- ${name}: no description`;
  return match[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

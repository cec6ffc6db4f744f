/**
 * `npm run bench -- <name> [flags]`: runs one benchmark; its report lands in bench/reports/<name>.{json,md}.
 * Every benchmark compares against a baseline measured in the same run (this machine is shared and
 * noisy), so its figures are ratios.
 */
import { argv } from 'node:process';

const BENCHMARKS: Record<string, () => Promise<{ default: (args: string[]) => Promise<void> }>> = {
  'auth-flood': () => import('./auth-flood.ts'),
  'auth-timing': () => import('./auth-timing.ts'),
  cloud: () => import('./cloud.ts'),
  cluster: () => import('./cluster.ts'),
  'cluster-state': () => import('./cluster-state.ts'),
  drift: () => import('./drift.ts'),
  fabric: () => import('./fabric.ts'),
  models: () => import('./models.ts'),
  rollout: () => import('./rollout/index.ts'),
  shifts: () => import('./shifts.ts'),
  soak: () => import('./soak.ts'),
  stitched: () => import('./stitched.ts'),
  'response-cache': () => import('./response-cache.ts'),
};
const available = Object.keys(BENCHMARKS).join(', ');

const [name, ...args] = argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <name> [flags]\n\nbenchmarks: ${available}`);
  process.exit(name ? 0 : 1);
}
const load = BENCHMARKS[name];
if (!load) {
  console.error(`bench: unknown benchmark "${name}" (have: ${available})`);
  process.exit(1);
}
await (await load()).default(args);

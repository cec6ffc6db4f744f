/**
 * `npm run bench -- <name>`: runs bench/<name>.ts (its default export). Reports land in bench/reports/.
 * Benchmarks compare against a baseline measured in the same run, because this machine is shared and noisy.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  // `<name>-<part>.ts` files are pieces of benchmark <name>, not benchmarks of their own.
  .filter((f) => !f.includes('-'))
  .map((f) => f.slice(0, -3))
  .sort();

const name = process.argv[2];
if (!name || name === '--help' || name === '-h') {
  console.log(`usage: npm run bench -- <name>\n\nbenchmarks: ${available.join(', ')}`);
  process.exit(name ? 0 : 1);
}
if (!available.includes(name)) {
  console.error(`bench: unknown benchmark "${name}" (have: ${available.join(', ')})`);
  process.exit(1);
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> };
await mod.default(process.argv.slice(3));

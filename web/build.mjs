/**
 * Builds the web pages into web/dist (Vite): the root `prepare` script runs it on `npm install` and
 * `npm ci`, `npm run build:web` by hand, the test setup when the pages are missing or stale. Where the
 * sources or Vite are not there (a Docker layer holding only the manifests, an install without dev
 * dependencies) it says so and succeeds: the API still runs, and `fogline cloud` says what to run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const vite = path('../node_modules/vite/bin/vite.js');

if (!existsSync(path('index.html'))) {
  console.log('fogline web: no page sources here; the dashboard is not built');
} else if (!existsSync(vite)) {
  console.log('fogline web: Vite is not installed (dev dependencies omitted?); the dashboard is not built');
} else {
  const run = spawnSync(
    process.execPath,
    [vite, 'build', '--config', path('vite.config.ts'), '--logLevel', 'warn'],
    {
      stdio: 'inherit',
    },
  );
  process.exitCode = run.status ?? 1;
}

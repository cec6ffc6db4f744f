/**
 * The dashboard and playground pages the cloud serves (web/dist), built once per test run by the
 * global setup when missing or older than their sources: `npm install` builds them (the root
 * `prepare` script), but a checkout installed with --ignore-scripts, or edited since, still tests the
 * pages as they are now.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WEB_DIST_DIR, webBuilt } from '@fogline/web/dist-dir';

const WEB_DIR = fileURLToPath(new URL('../web/', import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds web/dist when it is missing or stale; throws with vite's output when the build fails. */
export function ensureWebBuilt(): void {
  if (webBuilt() && statSync(join(WEB_DIST_DIR, 'index.html')).mtimeMs >= newestSource(WEB_DIR)) return;
  process.stderr.write('test setup: building the web pages (web/dist)\n');
  const run = spawnSync(process.execPath, [join(WEB_DIR, 'build.mjs')], { encoding: 'utf8' });
  if (run.status !== 0 || !webBuilt())
    throw new Error(`building web/dist failed:\n${run.stdout}${run.stderr}`);
}

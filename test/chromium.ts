/**
 * The Chromium that test/browser-device.test.ts drives through playwright-core (Debian's package; no
 * browser download). Looked up once per test run by the global setup: FOGLINE_CHROMIUM names the
 * executable, else /usr/bin/chromium. Where that is missing and the run is root with apt-get, Debian's
 * `chromium` is installed first, with a log line saying so; otherwise the browser test fails with one
 * line saying what to run. A FOGLINE_CHROMIUM that does not exist is reported, never installed over.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** Where Chromium is, or the one line the browser test fails with. */
export type ChromiumLookup = { path: string } | { missing: string };

declare module 'vitest' {
  export interface ProvidedContext {
    chromium: ChromiumLookup;
  }
}

export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const named = env.FOGLINE_CHROMIUM;
  if (named) {
    if (existsSync(named)) return { path: named };
    return {
      missing:
        `Chromium not found at FOGLINE_CHROMIUM=${named}: point FOGLINE_CHROMIUM at a Chromium ` +
        `executable, or unset it and run \`apt-get install -y chromium\` (as root)`,
    };
  }
  if (existsSync(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM };
  if (canInstall()) installDebianChromium();
  if (existsSync(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM };
  return {
    missing:
      `Chromium not found at ${DEBIAN_CHROMIUM}: run \`apt-get install -y chromium\` as root ` +
      `(or set FOGLINE_CHROMIUM=/path/to/chromium)`,
  };
}

function canInstall(): boolean {
  return process.getuid?.() === 0 && spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** apt-get install, after apt-get update when the package lists are stale or empty (fresh containers). */
function installDebianChromium(): void {
  log(`Chromium not found at ${DEBIAN_CHROMIUM}; installing Debian's chromium for the browser test`);
  const install = () => apt(['install', '-y', '-qq', '--no-install-recommends', 'chromium']);
  const done = install() || (apt(['update', '-qq']) && install());
  log(done ? `installed ${DEBIAN_CHROMIUM}` : 'apt-get install -y chromium failed (see its output above)');
}

function apt(args: string[]): boolean {
  const run = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', ...args], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
  });
  if (run.status === 0) return true;
  process.stderr.write(`${run.stdout ?? ''}${run.stderr ?? ''}`.split('\n').slice(-15).join('\n'));
  return false;
}

function log(line: string): void {
  process.stderr.write(`test setup: ${line}\n`);
}

/**
 * Where the built dashboard and playground are (web/build.mjs, run by the root `prepare` script on
 * `npm install` / `npm ci`), for the cloud to serve; and how to say they are missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WEB_DIST_DIR = fileURLToPath(new URL('./dist', import.meta.url));

/** The command that builds the pages, for messages. */
export const WEB_BUILD_COMMAND = 'npm run build:web';

/** True when the built pages exist in `dir`. */
export function webBuilt(dir: string = WEB_DIST_DIR): boolean {
  return existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'playground.html'));
}

/**
 * The durable queue's directory (docs/device-sdk.md "Offline: the durable store"): created 0700, and
 * refused when group or others can reach it (it holds the device's inputs).
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FoglineError } from '@fogline/shared';

/**
 * Creates `dir` 0700; refuses one that group or others can reach (PERMISSION_DENIED). Returns the
 * directories that got a new entry (the parent of each directory created), to be synced.
 */
export function openPrivateDir(dir: string): string[] {
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  const parents: string[] = [];
  for (let d = resolve(dir); created !== undefined && d !== dirname(d); d = dirname(d)) {
    parents.push(dirname(d));
    if (d === resolve(created)) break;
  }
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new FoglineError(
      'PERMISSION_DENIED',
      `durable queue directory ${dir} is accessible to group or others (mode ${mode.toString(8)}): chmod 700 it`,
    );
  }
  return parents;
}

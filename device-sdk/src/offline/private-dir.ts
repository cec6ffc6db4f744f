/**
 * The durable queue's directory (docs/device-sdk.md "Offline: the durable store"): created 0700, and
 * refused when it is a symbolic link, not this user's, or reachable by group or others (it holds the
 * device's inputs; `ownDirFault` of '@fogline/shared/storage', checked without following a link).
 */
import { lstatSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { ownDirFault } from '@fogline/shared/storage';

/**
 * Creates `dir` 0700 when it is not there; refuses one that is a link or not a directory
 * (INVALID_ARG), another user's or one group or others can reach (PERMISSION_DENIED). Returns the
 * directories that got a new entry (the parent of each directory created), to be synced.
 */
export function openPrivateDir(dir: string): string[] {
  // lstat first: mkdir would follow a link to a directory elsewhere (and fail on a dangling one).
  const found = lstatSync(dir, { throwIfNoEntry: false });
  const created = found === undefined ? mkdirSync(dir, { recursive: true, mode: 0o700 }) : undefined;
  const fault = ownDirFault(found ?? lstatSync(dir));
  if (fault !== undefined) {
    throw new FoglineError(fault.code, `durable queue directory ${dir} (offline.dir) ${fault.why}`, {
      details: { field: 'offline.dir' },
    });
  }
  const parents: string[] = [];
  for (let d = resolve(dir); created !== undefined && d !== dirname(d); d = dirname(d)) {
    parents.push(dirname(d));
    if (d === resolve(created)) break;
  }
  return parents;
}

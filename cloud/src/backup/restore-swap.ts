/**
 * How a restore puts the data dir it extracted in place of the old one (docs/scale-out.md "Backup and
 * restore"), so that a failure or a kill at any moment leaves the old data dir or the new one whole,
 * never neither, and nothing is deleted before the new one is in place:
 *
 * - **beside** (the usual case): the archive is extracted into `.<name>.restore-<hex>` beside the data
 *   dir, on the same file system; the swap is two renames, the data dir to `.<name>.old-<stamp>` and
 *   the staged folder to the data dir; a failure of the second undoes the first; then the old one is
 *   deleted. A kill between the two renames leaves no data dir and the old one beside it:
 *   `recoverInterruptedRestore` renames it back (the next restore, or the cloud at start).
 * - **inside**: a data dir that is a mount point (a volume: it cannot be renamed) or whose parent
 *   this user cannot write is staged inside itself (`.fogline-restore-<hex>`); its entries are moved
 *   into `.fogline-old-<stamp>` inside it, then the staged ones in; a failure moves them back. A kill
 *   meanwhile leaves the old data in that folder, which the next restore and the cloud name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, realpath, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type DataDirOptions, PRIVATE_DIR_MODE, preparePrivateDir, syncPath } from '@fogline/shared/storage';

/** Inside the data dir: the staging folder of an inside restore, and the old entries during its swap. */
const INSIDE_STAGING_PREFIX = '.fogline-restore-';
const INSIDE_OLD_PREFIX = '.fogline-old-';

/** Where a restore extracts, and how it will swap. */
export interface Staging {
  readonly path: string;
  readonly beside: boolean;
}

/** A restore's own folders inside a data dir: not the data dir's contents. */
export function isRestoreFolder(name: string): boolean {
  return name.startsWith(INSIDE_STAGING_PREFIX) || name.startsWith(INSIDE_OLD_PREFIX);
}

/** Makes the staging folder for a restore into `dir` (which exists): beside it when it can be. */
export async function makeStaging(dir: string): Promise<Staging> {
  const parent = dirname(dir);
  const hex = randomBytes(4).toString('hex');
  if (parent !== dir && (await stat(parent)).dev === (await stat(dir)).dev) {
    const path = join(parent, `.${basename(dir)}.restore-${hex}`);
    try {
      await mkdir(path, { mode: PRIVATE_DIR_MODE });
      return { path, beside: true };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
    }
  }
  const path = join(dir, `${INSIDE_STAGING_PREFIX}${hex}`);
  await mkdir(path, { mode: PRIVATE_DIR_MODE });
  return { path, beside: false };
}

/**
 * Puts `staging` (extracted, checked and fsynced) in place of `dir`'s entries `existing`. Throws with
 * `dir` as it was when the swap fails; once it is done, a failure to delete the old data is returned
 * as a line for the user (where it is), not thrown: the restore itself succeeded.
 */
export async function swapIn(staging: Staging, dir: string, existing: readonly string[]): Promise<string[]> {
  const old = staging.beside
    ? join(dirname(dir), `.${basename(dir)}.old-${stamp()}`)
    : join(dir, `${INSIDE_OLD_PREFIX}${stamp()}`);
  if (staging.beside) {
    await rename(dir, old);
    try {
      await rename(staging.path, dir);
    } catch (err) {
      await rename(old, dir);
      throw err;
    }
  } else {
    await swapEntries(staging.path, dir, existing, old);
  }
  // Restored: what follows only tidies up, and says what it could not do.
  const lines: string[] = [];
  const tidy = (step: Promise<unknown>, what: string) =>
    step.catch((err: unknown) => lines.push(`${dir} is restored, but ${what} (${(err as Error).message})`));
  if (!staging.beside)
    await tidy(rmdir(staging.path), `its empty staging folder ${staging.path} is left: delete it`);
  await tidy(syncPath(staging.beside ? dirname(dir) : dir), 'the renames could not be synced to disk');
  await tidy(rm(old, { recursive: true, force: true }), `its old contents are left in ${old}: delete it`);
  return lines;
}

/** The inside swap: `existing` into `old`, then the staged entries into `dir`; undone on a failure. */
async function swapEntries(
  staging: string,
  dir: string,
  existing: readonly string[],
  old: string,
): Promise<void> {
  await mkdir(old, { mode: PRIVATE_DIR_MODE });
  const movedOut: string[] = [];
  const movedIn: string[] = [];
  try {
    for (const name of existing) {
      await rename(join(dir, name), join(old, name));
      movedOut.push(name);
    }
    for (const name of await readdir(staging)) {
      await rename(join(staging, name), join(dir, name));
      movedIn.push(name);
    }
  } catch (err) {
    for (const name of movedIn) await rename(join(dir, name), join(staging, name));
    for (const name of movedOut) await rename(join(old, name), join(dir, name));
    await rmdir(old);
    throw err;
  }
}

/**
 * What an earlier restore into `dir` left behind, made good or named: with `dir` gone and one
 * `.<name>.old-*` beside it (killed between the two renames), that one is renamed back; any other old
 * folder is named (one line each, for the user: their old data is there). With `removeStaging`, the
 * staging folders left (partial extractions, never the user's data) are deleted; a cloud starting
 * leaves them, as a restore may be under way.
 */
export async function recoverInterruptedRestore(dir: string, removeStaging: boolean): Promise<string[]> {
  const parent = dirname(dir);
  const name = basename(dir);
  const besideNames = await readdir(parent).catch(() => [] as string[]);
  const olds = besideNames.filter((n) => n.startsWith(`.${name}.old-`)).sort();
  const lines: string[] = [];
  const present = await stat(dir).then(
    () => true,
    () => false,
  );
  const last = olds.at(-1);
  if (!present && last !== undefined) {
    await rename(join(parent, last), dir);
    olds.pop();
    lines.push(
      `a restore into ${dir} was interrupted: its previous contents (${join(parent, last)}) are back`,
    );
  }
  for (const old of olds) lines.push(oldDataLine(dir, join(parent, old)));
  const insideNames = present || last !== undefined ? await readdir(dir).catch(() => [] as string[]) : [];
  for (const old of insideNames.filter((n) => n.startsWith(INSIDE_OLD_PREFIX))) {
    lines.push(oldDataLine(dir, join(dir, old)));
  }
  if (removeStaging) {
    const staged = [
      ...besideNames.filter((n) => n.startsWith(`.${name}.restore-`)).map((n) => join(parent, n)),
      ...insideNames.filter((n) => n.startsWith(INSIDE_STAGING_PREFIX)).map((n) => join(dir, n)),
    ];
    for (const path of staged) await rm(path, { recursive: true, force: true });
  }
  return lines;
}

/**
 * The cloud's data dir at start: what an interrupted restore left made good or named (`warn`, one
 * line each; staging folders stay, a restore may be under way), then `preparePrivateDir`.
 */
export async function prepareCloudDataDir(
  dir: string,
  options: DataDirOptions & { readonly warn: (line: string) => void },
): Promise<void> {
  const real = await realpath(resolve(dir)).catch(() => resolve(dir)); // as the restore names it
  for (const line of await recoverInterruptedRestore(real, false)) options.warn(line);
  await preparePrivateDir(dir, options);
}

function oldDataLine(dir: string, old: string): string {
  return `an earlier restore into ${dir} left its previous contents in ${old}: look in it, then delete it`;
}

/** A UTC time stamp for a folder name: 20261207T081500123Z. */
function stamp(): string {
  return new Date().toISOString().replace(/[-:.]/g, '');
}

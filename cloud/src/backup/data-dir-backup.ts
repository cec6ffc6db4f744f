/**
 * Backup and restore of the cloud's data dir (docs/scale-out.md "Backup and restore"): the admin
 * token, the embedded PGlite database (`pglite/`) and the model store's files (`store/`), as one
 * `.tar.gz`. With PostgreSQL (`DATABASE_URL`) the database is backed up with pg_dump instead, and
 * this still covers the admin token and the model store.
 *
 * Consistent because the cloud is stopped: PGlite is one process's database, so a backup of a data
 * dir a cloud runs on (its `cloud.json` names a live process, or PGlite's `postmaster.pid` says the
 * database is open or was not closed) is refused rather than copied mid-write.
 * Private like the data dir (docs/security.md "Data directory"): the archive is written 0600, and a
 * restore leaves directories 0700 and files 0600 whatever the archive or the umask say. A restore
 * extracts into a staging folder first (beside the target, or inside it: `restore-swap.ts`), fsyncs
 * it, and only then swaps it in by renames, so a bad archive, a failure or a kill never leaves the
 * target without its old contents or the new ones; it refuses a non-empty target unless `force`, and
 * a target a cloud runs on always. An archive with an entry that would land outside the data dir
 * (absolute, `..`) or a link is refused whole (tar slip), and so is one that inflates past
 * `maxExpandedBytes` (`expansion-cap.ts`), found while extracting. A disk that fills up (or a quota
 * reached), at any step of a backup or a restore, is said as such (RESOURCE_EXHAUSTED,
 * `diskFullError`), not taken for a bad archive; the staging folder goes with it.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, Stats } from 'node:fs';
import { open, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { FoglineError, optionChecker, positiveInt } from '@fogline/shared';
import {
  diskFullError,
  mkdirPrivate,
  PRIVATE_FILE_MODE,
  pathEscapeOf,
  syncTree,
  tightenTree,
} from '@fogline/shared/storage';
import { create as createTar, extract as extractTar } from 'tar';
import { ADMIN_TOKEN_FILE } from '../auth/admin-token.ts';
import { CLOUD_STATE_FILE, type CloudState } from '../state-file.ts';
import {
  DEFAULT_EXPANSION_RATIO,
  DEFAULT_MIN_EXPANDED_BYTES,
  defaultMaxExpandedBytes,
  ExpansionCap,
  ExpansionCapExceeded,
  shownMiB,
} from './expansion-cap.ts';
import {
  isRestoreFolder,
  makeStaging,
  recoverInterruptedRestore,
  type Staging,
  swapIn,
} from './restore-swap.ts';

/** Left out of a backup: the running cloud's address (stale once it stops) and unfinished uploads. */
const NOT_BACKED_UP = new Set([CLOUD_STATE_FILE, join('store', 'incoming')]);

export interface BackupResult {
  /** The archive written. */
  readonly file: string;
  readonly bytes: number;
  /** Files and directories in it. */
  readonly entries: number;
}

export interface RestoreOptions {
  /** Replace the contents of a non-empty data dir (never one a cloud runs on). */
  readonly force?: boolean;
  /**
   * The most bytes the archive may inflate to (`--max-expanded-mb`); past it the restore is refused
   * and nothing is restored. Default `defaultMaxExpandedBytes`: 32× the archive's size, at least 1 GiB.
   */
  readonly maxExpandedBytes?: number;
  /**
   * Told, one line each, what an earlier interrupted restore left and where (`restore-swap.ts`), and
   * old contents that could not be deleted once the new ones were in. Default: not told.
   */
  readonly warn?: (line: string) => void;
}

export interface RestoreResult {
  readonly dataDir: string;
  readonly entries: number;
  /** True when the target held something that the restore replaced (`force`). */
  readonly replaced: boolean;
}

/** Writes `dataDir` to `outFile` (.tar.gz, 0600, atomically); refused while a cloud runs on it. */
export async function backupDataDir(dataDir: string, outFile: string): Promise<BackupResult> {
  const dir = resolve(dataDir);
  if (!(await holdsCloudData(dir))) {
    throw new FoglineError('NOT_FOUND', `${dir} is not a cloud data dir (no ${ADMIN_TOKEN_FILE} in it)`);
  }
  await refuseWhileRunning(dir, 'back it up');
  // PGlite keeps this file while the database is open: a cloud starting or stopping (before or after
  // its cloud.json), or one killed before it closed it.
  if (await stat(join(dir, 'pglite', 'postmaster.pid')).catch(() => undefined)) {
    throw new FoglineError(
      'PERMISSION_DENIED',
      `the database in ${join(dir, 'pglite')} is open or was not closed cleanly: let the cloud stop (or start and stop it once after a crash), then back it up`,
      { details: { dir } },
    );
  }
  const entries = (await readdir(dir)).filter((name) => !NOT_BACKED_UP.has(name)).sort();
  let count = 0;
  const out = resolve(outFile);
  const tmp = join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    // 0600 from the first byte: the archive holds every secret's hash and the admin token.
    const handle = await open(tmp, 'wx', PRIVATE_FILE_MODE);
    await handle.chmod(PRIVATE_FILE_MODE);
    const tar = createTar(
      {
        gzip: true,
        cwd: dir,
        portable: true,
        filter: (path, entry) => {
          if (NOT_BACKED_UP.has(path.replace(/\/$/, ''))) return false;
          // Files and directories only: no sockets or links.
          if (entry instanceof Stats && !entry.isFile() && !entry.isDirectory()) return false;
          count += 1;
          return true;
        },
      },
      entries,
    );
    // The stream closes the handle when done (a FileHandle's close() waits for its streams).
    await pipeline(tar, handle.createWriteStream());
    const written = await open(tmp, 'r+');
    await written.sync().finally(() => written.close());
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    const tail = ` while backing up to ${out}; no backup was written; free space on it and back up again`;
    throw (
      diskFullError(err, dirname(out), tail, { file: out }) ??
      new FoglineError('INTERNAL', `backing up ${dir} to ${out} failed: ${(err as Error).message}`, {
        cause: err,
      })
    );
  }
  return { file: out, bytes: (await stat(out)).size, entries: count };
}

/**
 * Restores a `backupDataDir` archive into `dataDir` (created 0700 if missing). A non-empty `dataDir`
 * is refused unless `force`, which replaces its contents; one a cloud runs on is always refused.
 */
export async function restoreDataDir(
  inFile: string,
  dataDir: string,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const archive = resolve(inFile);
  // A link to the data dir: the directory it points to is the one replaced, never the link.
  const dir = await realpath(resolve(dataDir)).catch(() => resolve(dataDir));
  if (options.maxExpandedBytes !== undefined) {
    optionChecker('restore options')('maxExpandedBytes', options.maxExpandedBytes, positiveInt);
  }
  const archiveStat = await stat(archive).catch(() => undefined);
  if (!archiveStat?.isFile()) throw new FoglineError('NOT_FOUND', `no backup file at ${archive}`);
  const maxExpandedBytes = options.maxExpandedBytes ?? defaultMaxExpandedBytes(archiveStat.size);
  let staging: Staging | undefined;
  try {
    const warn = options.warn ?? (() => {});
    for (const line of await recoverInterruptedRestore(dir, true)) warn(line);
    await mkdirPrivate(dir);
    const existing = (await readdir(dir)).filter((name) => !isRestoreFolder(name));
    if (existing.length > 0) {
      await refuseWhileRunning(dir, 'restore into it');
      if (options.force !== true) {
        throw new FoglineError(
          'ALREADY_EXISTS',
          `${dir} is not empty (${existing.length} entries); pass --force to replace its contents`,
        );
      }
    }
    staging = await makeStaging(dir);
    const entries = await extractInto(archive, staging.path, dir, maxExpandedBytes, options);
    await tightenTree(staging.path);
    await syncTree(staging.path);
    for (const line of await swapIn(staging, dir, existing)) warn(line);
    staging = undefined; // it is the data dir now
    return { dataDir: dir, entries, replaced: existing.length > 0 };
  } catch (err) {
    if (err instanceof FoglineError) throw err;
    const then = 'nothing was restored, the data dir is as it was';
    throw (
      diskFullError(err, dir, ` while restoring ${archive}; ${then}; free space on it and restore again`, {
        file: archive,
      }) ??
      new FoglineError(
        'INTERNAL',
        `restoring ${archive} into ${dir} failed: ${(err as Error).message}; ${then}`,
        {
          cause: err,
        },
      )
    );
  } finally {
    if (staging !== undefined) await rm(staging.path, { recursive: true, force: true });
  }
}

/** Extracts the backup `archive` into the empty folder `into`; the entries it holds. */
async function extractInto(
  archive: string,
  into: string,
  dir: string,
  maxExpandedBytes: number,
  options: RestoreOptions,
): Promise<number> {
  let count = 0;
  /** The first entry refused (tar slip: docs/security.md "Paths from outside"); nothing is restored. */
  let refused: { path: string; why: string } | undefined;
  const cap = new ExpansionCap(maxExpandedBytes);
  const unpack = extractTar({
    cwd: into,
    // Any warning (an entry tar would strip or skip) fails the restore; never preservePaths.
    strict: true,
    // The tar inside the gzip is plain: tar would open a second compressed layer by itself, past
    // the count above, so such a layer may not inflate at all (and zstd or brotli not be tried).
    maxDecompressionRatio: 1,
    zstd: false,
    brotli: false,
    filter: (path, entry) => {
      const why = entryRefusal(path, 'type' in entry ? entry.type : '');
      if (why !== undefined) refused ??= { path, why };
      if (refused !== undefined) return false; // this entry, and all after the first refused
      count += 1;
      return true;
    },
  });
  const unpacked = new Promise<void>((done, fail) => {
    unpack.on('close', done);
    unpack.on('error', fail);
  });
  const source = createReadStream(archive);
  cap.pipe(unpack);
  try {
    await Promise.all([pipeline(source, createGunzip(), cap), unpacked]);
  } catch (cause) {
    unpack.abort(cause as Error); // stops writing: nothing more lands in the staging folder
    source.destroy(); // and stops reading, when tar refused first
    if (cause instanceof ExpansionCapExceeded) throw expansionRefusal(archive, cause.maxBytes, options);
    const inflated = `after ${shownMiB(cap.bytes)} of ${archive} had been inflated`;
    const full = diskFullError(
      cause,
      dir,
      ` ${inflated}; nothing was restored, the data dir is as it was; free space on it and restore again`,
      { file: archive, inflatedBytes: cap.bytes },
    );
    throw full ?? new FoglineError('INVALID_ARG', `${archive} is not a readable .tar.gz backup`, { cause });
  }
  if (refused !== undefined) {
    throw new FoglineError(
      'INVALID_ARG',
      `${archive} is not a fogline data-dir backup: its entry ${JSON.stringify(refused.path)} ${refused.why}; nothing was restored`,
      { details: { file: archive, entry: refused.path } },
    );
  }
  if (!(await holdsCloudData(into))) {
    throw new FoglineError(
      'INVALID_ARG',
      `${archive} is not a fogline data-dir backup (no ${ADMIN_TOKEN_FILE} in it)`,
    );
  }
  return count;
}

/** PAYLOAD_TOO_LARGE naming the limit, where it came from, and the flag that raises it. */
function expansionRefusal(archive: string, maxBytes: number, options: RestoreOptions): FoglineError {
  const why =
    options.maxExpandedBytes !== undefined
      ? 'the limit given'
      : `the default: ${DEFAULT_EXPANSION_RATIO}× the archive's size, at least ${shownMiB(DEFAULT_MIN_EXPANDED_BYTES)}`;
  return new FoglineError(
    'PAYLOAD_TOO_LARGE',
    `${archive} inflates past ${shownMiB(maxBytes)} (${why}); nothing was restored; pass --max-expanded-mb <MiB> to allow more`,
    { details: { file: archive, maxExpandedBytes: maxBytes } },
  );
}

/**
 * Why an archive entry is refused: a backup holds files and directories under the data dir, so an
 * entry that would land outside it (absolute, `..`) or a link (which could point anywhere, and
 * files after it through it) is not one of ours.
 */
function entryRefusal(path: string, type: string): string | undefined {
  const outside = pathEscapeOf(path);
  if (outside !== undefined) return `${outside} (it would land outside the data dir)`;
  if (type === 'File' || type === 'OldFile' || type === 'ContiguousFile' || type === 'Directory')
    return undefined;
  return `is a ${type === '' ? 'special entry' : type} (a backup holds files and directories only)`;
}

async function holdsCloudData(dir: string): Promise<boolean> {
  const token = await stat(join(dir, ADMIN_TOKEN_FILE)).catch(() => undefined);
  return token?.isFile() === true;
}

/** PERMISSION_DENIED when `<dir>/cloud.json` names a process that is alive. */
async function refuseWhileRunning(dir: string, action: string): Promise<void> {
  const pid = await runningPid(dir);
  if (pid === undefined) return;
  throw new FoglineError(
    'PERMISSION_DENIED',
    `a cloud (pid ${pid}) runs on ${dir}: stop it before you ${action} it (if none runs, delete ${join(dir, CLOUD_STATE_FILE)})`,
    { details: { dir, pid } },
  );
}

async function runningPid(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, CLOUD_STATE_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let pid: unknown;
  try {
    pid = (JSON.parse(text) as Partial<CloudState>).pid;
  } catch {
    return undefined; // a torn file from a crash: no process to wait for
  }
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: it exists, as another user's process.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

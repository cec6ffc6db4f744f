/**
 * fogline's state on disk is private to the user that runs it (docs/security.md "Data directory"):
 * the data dir and every directory fogline makes in it are 0700, the files it writes 0600, whatever
 * the umask. A data dir that others can read or enter is refused at start, unless the operator says
 * `--insecure-data-dir`.
 */
import type { Stats } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { FoglineError } from '../core/errors.ts';
import { replaceFile, syncPath } from './atomic-file.ts';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
/** Group and other bits: none may be set on a data dir. */
const SHARED_BITS = 0o077;

export interface DataDirOptions {
  /** `--insecure-data-dir`: accept a dir others can reach (e.g. a shared volume managed elsewhere). */
  readonly insecure?: boolean;
  /** The flag that names the override, for the refusal line. Default `--insecure-data-dir`. */
  readonly flag?: string;
}

/**
 * Creates `dir` (and missing parents) 0700, or checks an existing one: group- or world-accessible is
 * refused with one line (PERMISSION_DENIED) unless `options.insecure`.
 */
export async function preparePrivateDir(dir: string, options: DataDirOptions = {}): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const mode = (await stat(dir)).mode & 0o777;
  if ((mode & SHARED_BITS) === 0 || options.insecure) return;
  const octal = mode.toString(8).padStart(4, '0');
  throw new FoglineError(
    'PERMISSION_DENIED',
    `data dir ${dir} is accessible to other users (mode ${octal}); run \`chmod 700 ${dir}\`, or pass ${options.flag ?? '--insecure-data-dir'} to accept it`,
    { details: { dir, mode: octal } },
  );
}

/** Why a directory is not one of this user's own, private ones: the code to refuse it with, and why. */
export interface OwnDirFault {
  readonly code: 'INVALID_ARG' | 'PERMISSION_DENIED';
  /** Completes "<dir> …". */
  readonly why: string;
}

/**
 * What is wrong with a directory a library writes into on its own (the device SDK's `offline.dir`
 * and `modelDir`), from its **lstat**, so that a link is seen as a link, never followed: a symbolic
 * link (it could be pointed elsewhere, and the files after it with it) or anything but a directory
 * (INVALID_ARG), another user's, or one with any of `bits` set (PERMISSION_DENIED; default: group
 * and others may not enter). undefined when it is fine.
 */
export function ownDirFault(info: Stats, bits: number = SHARED_BITS): OwnDirFault | undefined {
  if (info.isSymbolicLink()) {
    return { code: 'INVALID_ARG', why: 'is a symbolic link: give the directory itself, not a link to it' };
  }
  if (!info.isDirectory()) return { code: 'INVALID_ARG', why: 'is not a directory' };
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    return { code: 'PERMISSION_DENIED', why: `belongs to another user (uid ${info.uid}, not ${uid})` };
  }
  const mode = info.mode & 0o777;
  if ((mode & bits) !== 0) {
    const octal = mode.toString(8).padStart(4, '0');
    return {
      code: 'PERMISSION_DENIED',
      why: `is accessible to group or others (mode ${octal}): chmod 700 it`,
    };
  }
  return undefined;
}

/** mkdir -p with 0700 for every directory it creates (the umask cannot widen it). */
export async function mkdirPrivate(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Writes `data` to `file` atomically (temp file in the same directory, fsynced, renamed over) with
 * mode 0600: a crash leaves the old or the new content, and no moment exists where others can read it.
 */
export async function writePrivateFile(file: string, data: string | Uint8Array): Promise<void> {
  await replaceFile(file, data, { mode: PRIVATE_FILE_MODE });
}

/**
 * The JSON a private record file (one writePrivateFile wrote) holds: undefined when there is no such
 * file, or when it does not read or parse (told through `warn`, as "<file> does not read, ignored").
 */
export async function readPrivateJson(file: string, warn: (message: string) => void): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      warn(`${file} does not read, ignored: ${String(err)}`);
    return undefined;
  }
}

/**
 * Takes group and other bits off everything under `dir` (directories 0700, files 0600 at most): for
 * files a library writes with its own modes (PGlite writes 0666 whatever the umask).
 */
export async function tightenTree(dir: string): Promise<void> {
  await chmod(dir, PRIVATE_DIR_MODE);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await tightenTree(path);
    else if (entry.isFile()) await chmod(path, PRIVATE_FILE_MODE).catch(ignoreVanished);
  }
}

/**
 * fsyncs every file and directory under `dir`, and `dir`: before a rename makes them the real thing,
 * so that a crash after it cannot leave empty or torn files behind the new name.
 */
export async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) await syncPath(path);
  }
  await syncPath(dir);
}

/** A file removed between readdir and chmod (a WAL segment recycled) needs nothing more. */
function ignoreVanished(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

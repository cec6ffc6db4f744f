/**
 * Replacing a file that matters (a model's config or bytes, a record of fogline's state): the new
 * content goes to a temp file in the same directory (created new, never through a link), is
 * fsynced, then renamed over the old one, so that a crash, a kill or a full disk mid-write leaves
 * the old content or the new, never a torn file. The one home of that pattern: `writePrivateFile` is
 * it with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface ReplaceFileOptions {
  /** The new file's mode, exact (the umask cannot change it). Default: the old file's, if any. */
  readonly mode?: number;
}

/** Writes `data` to `file` atomically (temp file, fsync, rename); see the file's header. */
export async function replaceFile(
  file: string,
  data: string | Uint8Array,
  options: ReplaceFileOptions = {},
): Promise<void> {
  const mode = options.mode ?? (await stat(file).catch(() => undefined))?.mode;
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', mode === undefined ? 0o666 : mode & 0o7777);
    try {
      // open()'s mode goes through the umask: make it exact.
      if (mode !== undefined) await handle.chmod(mode & 0o7777);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** fsync of one file or directory (a directory's fsync makes the renames and creations in it durable). */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Windows does not fsync a directory opened for reading; nothing more can be done there.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  } finally {
    await handle.close();
  }
}

/**
 * How the durable queue's files and directory reach the disk (docs/device-sdk.md "Offline: the
 * durable store"): fdatasync for a segment's lines, fsync of the directory for its entries (a segment
 * created or deleted). A directory is opened read-only and fsynced; where that is refused with
 * EISDIR, EPERM or EINVAL (Windows cannot open a directory so, some file systems cannot sync one) the
 * sync is skipped: those platforms make directory entries durable by their own rules.
 */
import { close, closeSync, fdatasync, fdatasyncSync, fsync, fsyncSync, open, openSync } from 'node:fs';

/** node:fs by default (tests wrap it to count syncs, hold them, or fail them). */
export interface DiskSync {
  fdatasync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  fdatasyncSync(fd: number): void;
  /** Used for directories. */
  fsync(fd: number, callback: (err: NodeJS.ErrnoException | null) => void): void;
  fsyncSync(fd: number): void;
}

export const NODE_DISK_SYNC: DiskSync = { fdatasync, fdatasyncSync, fsync, fsyncSync };

const UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL']);

/** The error of a directory sync that counts: none where the platform cannot sync a directory. */
const counted = (err: NodeJS.ErrnoException | null): Error | null =>
  err !== null && !UNSUPPORTED.has(err.code ?? '') ? err : null;

/** Makes the entries of directory `dir` durable, on libuv's thread pool. */
export function syncDir(disk: DiskSync, dir: string, callback: (err: Error | null) => void): void {
  open(dir, 'r', (openErr, fd) => {
    if (openErr !== null) return callback(counted(openErr));
    disk.fsync(fd, (syncErr) => close(fd, () => callback(counted(syncErr))));
  });
}

/** Makes the entries of directory `dir` durable, on the event loop; throws the error that counts. */
export function syncDirSync(disk: DiskSync, dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if (counted(err as NodeJS.ErrnoException) !== null) throw err;
    return;
  }
  try {
    disk.fsyncSync(fd);
  } catch (err) {
    if (counted(err as NodeJS.ErrnoException) !== null) throw err;
  } finally {
    closeSync(fd);
  }
}

/** Makes the lines of the file at `path` durable, on the event loop (opened for writing: Windows needs it). */
export function syncFileSync(disk: DiskSync, path: string): void {
  const fd = openSync(path, 'r+');
  try {
    disk.fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

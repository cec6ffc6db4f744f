/**
 * Files a process keeps for itself in a directory of its own (the device SDK's durable-queue segments
 * and `queue.lock`, the edge's late-correction segments): opened without following a link
 * (O_NOFOLLOW), new ones created with O_EXCL, so a link planted in place of one is refused, never
 * read or written through (docs/security.md "Paths from outside").
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** Where the platform has no O_NOFOLLOW (Windows), O_EXCL alone keeps a new file from a link. */
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Open flags of a new file appended to: created here (a file or link already there is EEXIST). */
export const APPEND_NEW_FILE =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;

/** Non-blocking too, so that a FIFO planted as a file is refused (not a file) instead of waited on. */
const READ = constants.O_RDONLY | NOFOLLOW | (constants.O_NONBLOCK ?? 0);

/** Why a path is not a file of ours; completes "<path> is …". */
export type NotOwnFile = 'a symbolic link' | 'not a file';

/** The error to refuse a path with, given why (and the open's error for a link). */
export type RefuseNotOwnFile = (what: NotOwnFile, cause?: unknown) => Error;

export interface OwnFileText {
  readonly text: string;
  /** Bytes read. */
  readonly bytes: number;
}

/** Reads a file of ours (UTF-8) without following a link; a link or anything but a file is `refuse`d. */
export function readOwnFileSync(path: string, refuse: RefuseNotOwnFile): OwnFileText {
  let fd: number;
  try {
    fd = openSync(path, READ);
  } catch (err) {
    throw linkRefused(err, refuse);
  }
  try {
    if (!fstatSync(fd).isFile()) throw refuse('not a file');
    return textOf(readFileSync(fd));
  } finally {
    closeSync(fd);
  }
}

/** readOwnFileSync, not blocking the event loop. */
export async function readOwnFile(path: string, refuse: RefuseNotOwnFile): Promise<OwnFileText> {
  const handle = await open(path, READ).catch((err: unknown) => {
    throw linkRefused(err, refuse);
  });
  try {
    if (!(await handle.stat()).isFile()) throw refuse('not a file');
    return textOf(await handle.readFile());
  } finally {
    await handle.close();
  }
}

/** ELOOP is what O_NOFOLLOW gives for a link; any other error is the open's own. */
function linkRefused(err: unknown, refuse: RefuseNotOwnFile): unknown {
  return (err as NodeJS.ErrnoException).code === 'ELOOP' ? refuse('a symbolic link', err) : err;
}

function textOf(buffer: Buffer): OwnFileText {
  return { text: buffer.toString('utf8'), bytes: buffer.length };
}

/**
 * A disk that fills up (or a quota reached) while fogline writes its own files is said as such:
 * RESOURCE_EXHAUSTED naming the directory whose disk is full and the errno, never the raw errno
 * error, nor taken for something else (a bad archive, a bug). The one home of that mapping
 * (`fogline backup` / `fogline restore`, docs/errors.md "RESOURCE_EXHAUSTED").
 */
import { FoglineError } from '../core/errors.ts';

/** The file system errors that mean "no room": what each is, in words. */
const NO_ROOM: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
};

/** The errno of `err` when it says the disk (or the user's quota) is full. */
export function diskFullErrno(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && Object.hasOwn(NO_ROOM, code) ? code : undefined;
}

/**
 * RESOURCE_EXHAUSTED "the disk of `dir` is full (ENOSPC: no space left on device)`tail`" when `err`
 * says the disk is full (its errno and `details` in `details`, `err` as `cause`); undefined otherwise.
 */
export function diskFullError(
  err: unknown,
  dir: string,
  tail: string,
  details: Readonly<Record<string, unknown>> = {},
): FoglineError | undefined {
  const errno = diskFullErrno(err);
  if (errno === undefined) return undefined;
  return new FoglineError(
    'RESOURCE_EXHAUSTED',
    `the disk of ${dir} is full (${errno}: ${NO_ROOM[errno]})${tail}`,
    {
      details: { dir, errno, ...details },
      cause: err,
    },
  );
}

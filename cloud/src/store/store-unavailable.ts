/**
 * A database that cannot be reached is UNAVAILABLE (503: retry later), never INTERNAL (500: a bug):
 * every repository method's failure passes through `unavailableIfUnreachable`, which recognises a lost
 * or refused connection anywhere in the error's cause chain (drizzle wraps the driver's error in its
 * own) and says so without the SQL. The pool replaces broken connections by itself; nothing to reset.
 */
import { FoglineError, isFoglineError } from '@fogline/shared';

/** Socket errors of a server that went away or cannot be reached. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** PostgreSQL SQLSTATEs of a server going or gone: class 08 (connection exception), 57P01–57P03 (shutdown). */
const SQLSTATE = /^(08[0-9A-Z]{3}|57P0[123])$/;

/** node-postgres' own messages for a connection lost, closed or not made in time. */
const DRIVER_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connection error|Client was closed/i;

function unreachable(err: unknown): Error | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || SQLSTATE.test(code))) return e;
    if (DRIVER_MESSAGES.test(e.message)) return e;
  }
  return undefined;
}

export function unavailableIfUnreachable(err: unknown): unknown {
  if (isFoglineError(err)) return err;
  const lost = unreachable(err);
  if (!lost) return err;
  return new FoglineError('UNAVAILABLE', `the database is unreachable (${lost.message}); retry later`, {
    cause: err,
  });
}

type AsyncMethods<T> = { [K in keyof T]: (...args: never[]) => Promise<unknown> };

/** `repository` (async methods only) with each method's failure passed through `unavailableIfUnreachable`. */
export function guardRepository<T extends AsyncMethods<T>>(repository: T): T {
  const guarded: Record<string, unknown> = {};
  const methods = Object.entries(
    repository as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>,
  );
  for (const [name, method] of methods) {
    guarded[name] = (...args: unknown[]) =>
      method.apply(repository, args).catch((err: unknown) => {
        throw unavailableIfUnreachable(err);
      });
  }
  return guarded as T;
}

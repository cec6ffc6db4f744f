/**
 * A Redis call bounded in time: the shared connection queues commands while it reconnects (cluster.ts),
 * so a caller on a request's path never awaits one without a limit. A late answer is dropped.
 */
import { FoglineError } from '@fogline/shared';

/** `call`'s answer, or UNAVAILABLE once `ms` have passed without one. */
export async function within<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FoglineError('UNAVAILABLE', `${what}: redis did not answer in ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([call, late]);
  } finally {
    clearTimeout(timer);
    call.catch(() => {});
  }
}

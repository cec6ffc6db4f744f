import { FoglineError } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { guardRepository, unavailableIfUnreachable } from './store-unavailable.ts';

/** As drizzle throws: its own error, the driver's as `cause`. */
const wrapped = (cause: Error) =>
  new Error('Failed query: select "id" from "edges" where "id" = $1', { cause });
const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('a database that cannot be reached is UNAVAILABLE', () => {
  it.each([
    ['a connection lost mid-query', wrapped(new Error('Connection terminated unexpectedly'))],
    ['a refused connection', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['a pool that could not connect in time', new Error('timeout exceeded when trying to connect')],
    [
      'a server shutting down (57P01)',
      wrapped(withCode('terminating connection due to administrator command', '57P01')),
    ],
    ['a connection exception (08006)', withCode('connection failure', '08006')],
  ])('%s', (_, err) => {
    const mapped = unavailableIfUnreachable(err);
    expect(mapped).toBeInstanceOf(FoglineError);
    expect(mapped).toMatchObject({ code: 'UNAVAILABLE', httpStatus: 503, cause: err });
    // The message names the driver's reason, not the SQL.
    expect((mapped as Error).message).not.toContain('select');
  });

  it('leaves every other failure as it was', () => {
    const unique = wrapped(withCode('duplicate key value violates unique constraint', '23505'));
    expect(unavailableIfUnreachable(unique)).toBe(unique);
    const notFound = new FoglineError('NOT_FOUND', "edge 'x' does not exist");
    expect(unavailableIfUnreachable(notFound)).toBe(notFound);
  });

  it("guards each of a repository's methods, keeping their results", async () => {
    const repository = guardRepository({
      name: async (id: string) => `edge-${id}`,
      lost: async (): Promise<void> => {
        throw wrapped(new Error('Connection terminated unexpectedly'));
      },
    });
    expect(await repository.name('1')).toBe('edge-1');
    await expect(repository.lost()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

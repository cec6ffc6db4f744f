/**
 * Leases (docs/field-accuracy.md "The controller, wired"): one holder per name at a time, until it
 * expires. One upsert does take-or-renew: it writes only where the row is missing, already ours, or
 * expired, so two replicas racing for one lease cannot both get it (PGlite and PostgreSQL alike).
 * The expiry is written and compared on the database's clock (docs/scale-out.md "Clocks"): a replica
 * whose own clock is off can neither take a live lease nor leave a stopped holder's lease for longer.
 */
import { FoglineError } from '@fogline/shared';
import { and, eq, lt, or, sql } from 'drizzle-orm';
import type { StoreDatabase } from './database.ts';
import { leases } from './schema.ts';
import type { LeaseRepository } from './store.ts';
import { checkName } from './validation.ts';

/** The database's clock for this statement: one reading for the expiry written and the one compared. */
const dbNow = sql`now()`;

export function createLeaseRepository(db: StoreDatabase): LeaseRepository {
  return {
    async acquire(name, holder, ttlMs) {
      checkName('lease', name);
      checkName('holder', holder);
      if (!(Number.isInteger(ttlMs) && ttlMs >= 1)) {
        throw new FoglineError('INVALID_ARG', `lease ttlMs must be an integer >= 1, got ${ttlMs}`);
      }
      const expiresAt = sql`${dbNow} + ${ttlMs}::integer * interval '1 millisecond'`;
      const taken = await db
        .insert(leases)
        .values({ name, holder, expiresAt })
        .onConflictDoUpdate({
          target: leases.name,
          set: { holder, expiresAt },
          setWhere: or(eq(leases.holder, holder), lt(leases.expiresAt, dbNow)),
        })
        .returning({ holder: leases.holder });
      return taken.length === 1 && taken[0]!.holder === holder;
    },

    async release(name, holder) {
      await db.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, holder)));
    },
  };
}

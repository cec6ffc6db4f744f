/**
 * Leases (docs/field-accuracy.md "The controller, wired"): one holder per name at a time, until it
 * expires. One upsert does take-or-renew: it writes only where the row is missing, already ours, or
 * expired, so two replicas racing for one lease cannot both get it (PGlite and PostgreSQL alike).
 */
import { FoglineError } from '@fogline/shared';
import { and, eq, lt, or } from 'drizzle-orm';
import type { StoreDatabase, WallClock } from './database.ts';
import { leases } from './schema.ts';
import type { LeaseRepository } from './store.ts';
import { checkName } from './validation.ts';

export function createLeaseRepository(db: StoreDatabase, now: WallClock): LeaseRepository {
  return {
    async acquire(name, holder, ttlMs) {
      checkName('lease', name);
      checkName('holder', holder);
      if (!(Number.isInteger(ttlMs) && ttlMs >= 1)) {
        throw new FoglineError('INVALID_ARG', `lease ttlMs must be an integer >= 1, got ${ttlMs}`);
      }
      const at = now();
      const expiresAt = new Date(at.getTime() + ttlMs);
      const taken = await db
        .insert(leases)
        .values({ name, holder, expiresAt })
        .onConflictDoUpdate({
          target: leases.name,
          set: { holder, expiresAt },
          setWhere: or(eq(leases.holder, holder), lt(leases.expiresAt, at)),
        })
        .returning({ holder: leases.holder });
      return taken.length === 1 && taken[0]!.holder === holder;
    },

    async release(name, holder) {
      await db.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, holder)));
    },
  };
}

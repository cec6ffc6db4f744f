/** Store contract, leases (on the database's clock, docs/scale-out.md "Clocks"): see store.contract.ts. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type StoreUnderTest, unique } from './contract-support.ts';
import { createStore } from './drizzle-store.ts';

const MINUTE_MS = 60_000;
/** A replica's wall clock `offsetMs` off the true time (the database's, on this one machine). */
const skewedClock = (offsetMs: number) => () => new Date(Date.now() + offsetMs);

export function describeLeaseContract(sut: StoreUnderTest): void {
  describe('leases', () => {
    it('has one holder at a time, renewed by it, taken by another only once expired or released', async () => {
      const name = unique('lease');
      expect(await sut.store.leases.acquire(name, 'replica-a', 300)).toBe(true);
      expect(await sut.store.leases.acquire(name, 'replica-b', 300)).toBe(false);
      expect(await sut.store.leases.acquire(name, 'replica-a', 300)).toBe(true);
      await sleep(400);
      expect(await sut.store.leases.acquire(name, 'replica-b', 60_000)).toBe(true);
      expect(await sut.store.leases.acquire(name, 'replica-a', 60_000)).toBe(false);
      await sut.store.leases.release(name, 'replica-a');
      expect(await sut.store.leases.acquire(name, 'replica-a', 60_000)).toBe(false);
      await sut.store.leases.release(name, 'replica-b');
      expect(await sut.store.leases.acquire(name, 'replica-a', 60_000)).toBe(true);
    });

    it('lets exactly one of two stores on one database take a lease at once', async () => {
      const other = createStore(sut.connection);
      const name = unique('lease');
      const got = await Promise.all([
        sut.store.leases.acquire(name, 'replica-a', 60_000),
        other.leases.acquire(name, 'replica-b', 60_000),
      ]);
      expect(got.filter(Boolean)).toHaveLength(1);
    });

    it('runs on the database clock: a replica clock minutes off neither takes a live lease nor stalls a stopped one', async () => {
      const onTime = createStore(sut.connection, skewedClock(0));
      const ahead = createStore(sut.connection, skewedClock(10 * MINUTE_MS));
      const behind = createStore(sut.connection, skewedClock(-10 * MINUTE_MS));

      const live = unique('lease');
      expect(await onTime.leases.acquire(live, 'replica-a', 5_000)).toBe(true);
      expect(await ahead.leases.acquire(live, 'replica-b', 5_000)).toBe(false);
      const heldBehind = unique('lease');
      expect(await behind.leases.acquire(heldBehind, 'replica-a', 5_000)).toBe(true);
      expect(await onTime.leases.acquire(heldBehind, 'replica-b', 5_000)).toBe(false);
      expect(await behind.leases.acquire(heldBehind, 'replica-a', 5_000)).toBe(true);

      // A holder whose clock runs ahead stops renewing: another replica takes over once its lease
      // has run out on the true clock, not minutes later.
      const ttlMs = 500;
      const stopped = unique('lease');
      const start = Date.now();
      expect(await ahead.leases.acquire(stopped, 'replica-a', ttlMs)).toBe(true);
      let takenAfterMs = Number.POSITIVE_INFINITY;
      while (Date.now() - start < ttlMs + 3_000) {
        if (await onTime.leases.acquire(stopped, 'replica-b', ttlMs)) {
          takenAfterMs = Date.now() - start;
          break;
        }
        await sleep(25);
      }
      expect(takenAfterMs).toBeGreaterThanOrEqual(ttlMs - 5);
      expect(takenAfterMs).toBeLessThan(ttlMs + 3_000);
    });
  });
}

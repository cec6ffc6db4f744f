import { describe, expect, it } from 'vitest';
import { systemClock } from '../clock.ts';
import { isFoglineError } from '../errors.ts';
import { Deadline } from './deadline.ts';
import { ExpiryList } from './expiry-list.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const never = () => new Promise<never>(() => {});

describe('Deadline.race', () => {
  it('resolves and rejects like its work when the work is first', async () => {
    const d = new Deadline(systemClock, systemClock.now(), 1000, 0);
    await expect(d.race(Promise.resolve(7), 'the model')).resolves.toBe(7);
    await expect(d.race(Promise.reject(new Error('boom')), 'the model')).rejects.toThrow('boom');
  });

  it('rejects DEADLINE_EXCEEDED once the budget is spent, naming what it waited for', async () => {
    const d = new Deadline(systemClock, systemClock.now(), 30, 10);
    const started = performance.now();
    const err = await d.race(never(), 'the edge model').catch((e: unknown) => e);
    expect(isFoglineError(err) && err.code).toBe('DEADLINE_EXCEEDED');
    expect((err as Error).message).toBe('budget spent before the edge model finished');
    // 30 ms budget − 10 ms held back for the reply: never sooner than 20 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(19.5);
  });

  it('rejects at once when no budget is left', async () => {
    const d = new Deadline(systemClock, systemClock.now() - 50, 40, 0);
    await expect(d.race(never(), 'x')).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('expires races of different budgets each at its own time, whatever order they came in', async () => {
    const now = systemClock.now();
    const order: number[] = [];
    const races = [60, 20, 40].map((budget) =>
      new Deadline(systemClock, now, budget, 0).race(never(), 'x').catch(() => order.push(budget)),
    );
    await Promise.all(races);
    expect(order).toEqual([20, 40, 60]);
  });
});

describe('ExpiryList', () => {
  it('runs what is due in due order, never sooner, and forgets what is removed', async () => {
    const list = new ExpiryList();
    const ran: string[] = [];
    const at = performance.now();
    list.add(30, () => ran.push(`c ${performance.now() - at >= 29.5}`));
    list.add(10, () => ran.push(`a ${performance.now() - at >= 9.5}`));
    const removed = list.add(20, () => ran.push('removed'));
    list.add(20, () => ran.push(`b ${performance.now() - at >= 19.5}`));
    list.remove(removed);
    list.remove(removed); // a no-op the second time
    expect(list.size).toBe(3);
    await sleep(60);
    expect(ran).toEqual(['a true', 'b true', 'c true']);
    expect(list.size).toBe(0);
    expect(list.armed).toBe(false);
  });

  it('holds its timer only while entries wait (a quiet process may exit)', () => {
    const list = new ExpiryList();
    const a = list.add(1000, () => {});
    const b = list.add(2000, () => {});
    expect(list.armed).toBe(true);
    list.remove(a);
    expect(list.armed).toBe(true);
    list.remove(b);
    expect(list.armed).toBe(false);
  });
});

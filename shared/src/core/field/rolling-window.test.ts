import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { RollingWindow } from './rolling-window.ts';

describe('rolling window of records', () => {
  it('keeps the newest maxCount records', () => {
    const w = new RollingWindow<number>({ maxCount: 3, maxAgeMs: 60_000, clock: new ManualClock() });
    for (let i = 1; i <= 5; i++) w.push(i);
    expect(w.records()).toEqual([3, 4, 5]);
    expect(w.size).toBe(3);
  });

  it('drops records once they are maxAgeMs old, as the clock moves', () => {
    const clock = new ManualClock(1000);
    const w = new RollingWindow<string>({ maxCount: 100, maxAgeMs: 10_000, clock });
    w.push('a');
    clock.advance(4000);
    w.push('b');
    clock.advance(5999);
    expect(w.entries()).toEqual([
      { atMs: 1000, record: 'a' },
      { atMs: 5000, record: 'b' },
    ]);
    clock.advance(1);
    expect(w.records()).toEqual(['b']);
    clock.advance(4000);
    expect(w.size).toBe(0);
  });

  it('over many pushes holds exactly the last maxCount, oldest first', () => {
    const clock = new ManualClock();
    const w = new RollingWindow<number>({ maxCount: 50, maxAgeMs: 1e9, clock });
    for (let i = 0; i < 10_000; i++) {
      w.push(i);
      clock.advance(1);
    }
    expect(w.records()).toEqual(Array.from({ length: 50 }, (_, i) => 9950 + i));
  });

  it('restarts empty on clear()', () => {
    const w = new RollingWindow<number>({ maxCount: 10, maxAgeMs: 1000, clock: new ManualClock() });
    w.push(1);
    w.clear();
    expect(w.size).toBe(0);
    w.push(2);
    expect(w.records()).toEqual([2]);
  });

  it('retain() keeps the records a predicate accepts, each with the time it was pushed', () => {
    const clock = new ManualClock();
    const w = new RollingWindow<number>({ maxCount: 10, maxAgeMs: 1000, clock });
    w.push(1);
    clock.advance(600);
    w.push(2);
    w.push(3);
    w.retain((x) => x !== 2);
    expect(w.records()).toEqual([1, 3]);
    clock.advance(500); // 1 was pushed 1,100 ms ago: its age still counts from then
    expect(w.records()).toEqual([3]);
  });

  it('refuses bounds that keep nothing', () => {
    expect(() => new RollingWindow({ maxCount: 0, maxAgeMs: 1 })).toThrow(/maxCount/);
    expect(() => new RollingWindow({ maxCount: 1, maxAgeMs: 0 })).toThrow(/maxAgeMs/);
  });
});

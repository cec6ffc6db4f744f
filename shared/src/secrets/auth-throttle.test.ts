import { describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.ts';
import { AuthThrottle, addressKey } from './auth-throttle.ts';

describe('AuthThrottle', () => {
  it('counts only failures per address: attempts pass while a token is left, an empty bucket refuses until it refills', () => {
    const clock = new ManualClock();
    const throttle = new AuthThrottle({ perAddress: { ratePerSec: 1, burst: 2 }, clock });
    // A valid client's burst of concurrent first attempts: all let through, nothing taken.
    const burst = Array.from({ length: 10 }, () => throttle.begin('10.0.0.1'));
    expect(burst.every((g) => g.ok)).toBe(true);
    throttle.failed('10.0.0.1');
    expect(throttle.begin('10.0.0.1').ok).toBe(true);
    throttle.failed('10.0.0.1');
    expect(throttle.begin('10.0.0.1')).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(throttle.begin('10.0.0.2').ok).toBe(true); // other addresses have their own budget
    expect(throttle.begin(undefined).ok).toBe(true); // in process: never limited
    clock.advance(1000);
    expect(throttle.begin('10.0.0.1').ok).toBe(true);
  });

  it('reserve holds a token while a check runs: a right credential keeps it, a wrong one takes it (the brokers)', async () => {
    const clock = new ManualClock();
    const throttle = new AuthThrottle({ perAddress: { ratePerSec: 1, burst: 2 }, clock });
    for (let i = 0; i < 5; i++) {
      const gate = await throttle.reserve('10.0.0.1');
      if (!gate.ok) throw new Error('refused');
      gate.reservation.release(); // right credential
    }
    for (let i = 0; i < 2; i++) {
      const gate = await throttle.reserve('10.0.0.1');
      if (!gate.ok) throw new Error('refused');
      gate.reservation.failed(); // wrong: taken
    }
    expect(await throttle.reserve('10.0.0.1')).toEqual({ ok: false, reason: 'spent', retryAfterMs: 1000 });
    expect(throttle.begin('10.0.0.1').ok).toBe(false); // HTTP sees the same budget
  });

  it('lets many valid concurrent checks from one address through: past the budget they wait, none is refused', async () => {
    const throttle = new AuthThrottle({ perAddress: { ratePerSec: 1, burst: 3 }, clock: new ManualClock() });
    const gates = Array.from({ length: 50 }, () => throttle.reserve('10.0.0.1'));
    // Holds in flight never count as failures: HTTP (and the brokers' accept check) still serve the address.
    expect(throttle.begin('10.0.0.1').ok).toBe(true);
    expect(throttle.reserved('10.0.0.1')).toEqual({ inFlight: 3, waiting: 47 });
    for (const gate of gates) {
      const g = await gate;
      if (!g.ok) throw new Error(`refused: ${g.reason}`);
      expect(throttle.reserved('10.0.0.1').inFlight).toBeLessThanOrEqual(3);
      g.reservation.release();
    }
    expect(throttle.reserved('10.0.0.1')).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('bounds a bad-password flood: at most the budget in flight, then every waiting one refused without a check', async () => {
    const throttle = new AuthThrottle({ perAddress: { ratePerSec: 1, burst: 3 }, clock: new ManualClock() });
    const gates = Array.from({ length: 20 }, () => throttle.reserve('10.0.0.1'));
    let checked = 0;
    const refused: string[] = [];
    for (const gate of gates) {
      const g = await gate;
      if (!g.ok) {
        refused.push(g.reason);
        continue;
      }
      checked++;
      g.reservation.failed('dev-1');
    }
    expect(checked).toBe(3);
    expect(refused).toEqual(Array(17).fill('spent'));
    expect(throttle.reserved('10.0.0.1')).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('refuses a wait as busy past maxWaitMs or maxWaitingPerAddress, and drops an aborted one', async () => {
    const throttle = new AuthThrottle({
      perAddress: { ratePerSec: 1, burst: 1 },
      maxWaitMs: 30,
      maxWaitingPerAddress: 2,
      clock: new ManualClock(),
    });
    const first = await throttle.reserve('10.0.0.1');
    expect(first.ok).toBe(true);
    const late = throttle.reserve('10.0.0.1');
    const aborted = new AbortController();
    const gone = throttle.reserve('10.0.0.1', aborted.signal);
    expect(await throttle.reserve('10.0.0.1')).toMatchObject({ ok: false, reason: 'busy' }); // queue full
    aborted.abort();
    expect(await gone).toMatchObject({ ok: false, reason: 'busy' });
    expect(await late).toMatchObject({ ok: false, reason: 'busy' }); // 30 ms passed
    expect(throttle.reserved('10.0.0.1')).toEqual({ inFlight: 1, waiting: 0 });
    if (first.ok) first.reservation.release();
    expect(throttle.reserved('10.0.0.1')).toEqual({ inFlight: 0, waiting: 0 });
  });

  it('slows failures on an id past its budget and nothing else', () => {
    const throttle = new AuthThrottle({
      perId: { ratePerSec: 1, burst: 2 },
      idFailureDelayMs: 300,
      clock: new ManualClock(),
    });
    const fail = (id?: string) => throttle.failed('10.0.0.9', id);
    expect([fail('dev-1'), fail('dev-1'), fail('dev-1')]).toEqual([0, 0, 300]);
    expect(fail('dev-2')).toBe(0);
    expect(fail()).toBe(0); // no id claimed (an API key)
  });

  it('keeps a bounded number of addresses; a forgotten one starts afresh', () => {
    const throttle = new AuthThrottle({
      perAddress: { ratePerSec: 1, burst: 1 },
      maxTracked: 2,
      clock: new ManualClock(),
    });
    throttle.failed('10.0.0.1');
    expect(throttle.begin('10.0.0.1').ok).toBe(false);
    throttle.failed('10.0.0.2');
    throttle.failed('10.0.0.3'); // 10.0.0.1 is the least recently used: dropped
    expect(throttle.begin('10.0.0.1').ok).toBe(true);
  });
});

describe('addressKey', () => {
  it('unwraps IPv4-mapped addresses and groups IPv6 by /64', () => {
    expect(addressKey('127.0.0.1')).toBe('127.0.0.1');
    expect(addressKey('::ffff:192.168.1.9')).toBe('192.168.1.9');
    expect(addressKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(addressKey('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

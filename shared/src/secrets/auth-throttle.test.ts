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

  it('reserve takes a token before a check and release gives it back (the brokers)', () => {
    const clock = new ManualClock();
    const throttle = new AuthThrottle({ perAddress: { ratePerSec: 1, burst: 2 }, clock });
    for (let i = 0; i < 5; i++) {
      expect(throttle.reserve('10.0.0.1').ok).toBe(true);
      throttle.release('10.0.0.1'); // right credential
    }
    expect(throttle.reserve('10.0.0.1').ok).toBe(true); // wrong: kept
    expect(throttle.reserve('10.0.0.1').ok).toBe(true); // wrong: kept
    expect(throttle.reserve('10.0.0.1')).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(throttle.begin('10.0.0.1').ok).toBe(false); // HTTP sees the same budget
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

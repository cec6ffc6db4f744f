import { describe, expect, it } from 'vitest';
import { BROKER_DEFAULTS, resolveBrokerOptions } from './broker-options.ts';

const resolveIdentity = async () => null;

describe('broker options', () => {
  it('fills documented defaults and freezes the result', () => {
    const resolved = resolveBrokerOptions({ resolveIdentity, mqttPort: 0 });
    expect(resolved).toMatchObject({ ...BROKER_DEFAULTS, mqttPort: 0 });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it.each([
    [{ mqttPort: 70_000 }, /mqttPort/],
    [{ wsPort: -1 }, /wsPort/],
    [{ wsPath: 'mqtt' }, /wsPath/],
    [{ publishRate: { ratePerSec: 0, burst: 1 } }, /publishRate.ratePerSec/],
    [{ connectRate: { ratePerSec: 1, burst: Number.NaN } }, /connectRate.burst/],
    [{ maxPacketBytes: 0 }, /maxPacketBytes/],
    [{ drainTimeoutMs: 1.5 }, /drainTimeoutMs/],
  ])('refuses %o with INVALID_ARG', (bad, message) => {
    expect(() => resolveBrokerOptions({ resolveIdentity, ...bad })).toThrow(message);
    try {
      resolveBrokerOptions({ resolveIdentity, ...bad });
    } catch (err) {
      expect((err as { code?: string }).code).toBe('INVALID_ARG');
    }
  });

  it('requires an identity resolver', () => {
    expect(() => resolveBrokerOptions({} as never)).toThrow(/resolveIdentity/);
  });
});

import { describe, expect, it } from 'vitest';
import { isAuditRate, readAuditRate, readAuditRateInEffect } from './audit-rate.ts';

describe('audit rate', () => {
  it('takes a number in [0, 1], bounds included', () => {
    for (const v of [0, 0.02, 0.5, 1]) expect(isAuditRate(v)).toBe(true);
    expect(readAuditRate(0.5)).toBe(0.5);
  });

  it('refuses anything else with a sentence naming the field', () => {
    for (const v of [-0.01, 1.01, Number.NaN, Number.POSITIVE_INFINITY, '0.5', null, undefined, {}]) {
      expect(isAuditRate(v)).toBe(false);
      expect(readAuditRate(v, 'rate')).toMatch(/^rate must be a number in \[0, 1\], got /);
    }
    expect(readAuditRate(2)).toBe('audit_rate must be a number in [0, 1], got 2');
  });

  it('reads the rate in effect only with a known source', () => {
    expect(readAuditRateInEffect({ rate: 0.5, source: 'operator' })).toEqual({
      rate: 0.5,
      source: 'operator',
    });
    expect(readAuditRateInEffect({ rate: 0.2, source: 'drift-alarm' })).toBeDefined();
    expect(readAuditRateInEffect({ rate: 0.5, source: 'someone' })).toBeUndefined();
    expect(readAuditRateInEffect({ rate: 5, source: 'edge' })).toBeUndefined();
    expect(readAuditRateInEffect(null)).toBeUndefined();
  });
});

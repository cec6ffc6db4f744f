import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePolicyMessage, type PolicyMessage, readPolicyMessage } from './policy-message.ts';

const message: PolicyMessage = {
  edge: 'edge-a',
  version: 7,
  model: 'digits-tiny:1',
  policy: { score: 'margin', threshold: 0.33 },
  audit_rate: 0.02,
};
const expectation = { edge: 'edge-a', model: 'digits-tiny:1' };
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const reasonOf = (value: unknown, expect: Parameters<typeof readPolicyMessage>[1] = expectation) => {
  const reading = readPolicyMessage(bytes(value), expect);
  return reading.ok ? 'ok' : reading.reason;
};

describe('policy message', () => {
  it('round-trips through its encoder and reader', () => {
    const reading = readPolicyMessage(encodePolicyMessage(message), { ...expectation, afterVersion: 6 });
    expect(reading).toEqual({ ok: true, message });
  });

  it('reads a message without a policy as an audit rate alone, and refuses one with neither', () => {
    const { policy: _policy, ...rateOnly } = message;
    const reading = readPolicyMessage(encodePolicyMessage(rateOnly), expectation);
    expect(reading).toEqual({ ok: true, message: rateOnly });
    expect(reading.ok && 'policy' in reading.message).toBe(false);
    const { audit_rate: _rate, ...neither } = rateOnly;
    expect(reasonOf(neither)).toMatch(/neither "policy" nor "audit_rate"/);
    expect(() => encodePolicyMessage(neither)).toThrow(/neither/);
  });

  it('refuses another edge, another model and a version not newer than the one applied', () => {
    expect(reasonOf({ ...message, edge: 'edge-b' })).toMatch(/edge "edge-b", not "edge-a"/);
    expect(reasonOf({ ...message, model: 'digits-tiny:2' })).toMatch(/model "digits-tiny:2"/);
    expect(reasonOf(message, { ...expectation, afterVersion: 7 })).toMatch(/not newer than 7/);
    expect(reasonOf(message, { ...expectation, afterVersion: 8 })).toMatch(/not newer than 8/);
    const refused = readPolicyMessage(bytes({ ...message, edge: 'edge-b' }), expectation);
    expect(refused.ok ? undefined : refused.code).toBe('other-edge');
  });

  it('refuses thresholds outside the score range and unknown score kinds', () => {
    for (const threshold of [-0.1, 1.001, 2, null, '0.5', Number.NaN]) {
      expect(reasonOf({ ...message, policy: { score: 'margin', threshold } })).toMatch(/threshold/);
    }
    expect(reasonOf({ ...message, policy: { score: 'margin', threshold: 1.01 } })).toBe('ok');
    expect(reasonOf({ ...message, policy: { score: 'logit', threshold: 0.5 } })).toMatch(/policy.score/);
    expect(reasonOf({ ...message, audit_rate: 1.5 })).toMatch(/audit_rate/);
  });

  it('refuses malformed payloads with a reason, never throwing', () => {
    const bad = [
      new Uint8Array([0xff, 0xfe]),
      new TextEncoder().encode('{"edge":'),
      bytes([message]),
      bytes({ ...message, version: 0 }),
      bytes({ ...message, version: 1.5 }),
      bytes({ ...message, model: 'digits-tiny' }),
      bytes({ ...message, policy: 'margin' }),
      new Uint8Array(5000),
    ];
    for (const payload of bad) expect(readPolicyMessage(payload, expectation).ok).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (payload) => {
        const reading = readPolicyMessage(payload, expectation);
        expect(typeof reading.ok).toBe('boolean');
      }),
    );
  });

  it('will not encode a message its receivers would refuse', () => {
    expect(() => encodePolicyMessage({ ...message, policy: { score: 'maxprob', threshold: 3 } })).toThrow(
      /threshold/,
    );
  });
});

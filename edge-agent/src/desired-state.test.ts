import { describe, expect, it } from 'vitest';
import { decodeDesiredState, parseDesiredState } from './desired-state.ts';

const hash = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

describe('parseDesiredState', () => {
  it('accepts the documented shape and ignores unknown fields', () => {
    const state = parseDesiredState({
      version: 3,
      devices: [{ id: 'dev-1', tokenHash: hash, note: 'x' }],
      models: { 'digits-mid': 1 },
      extra: true,
    });
    expect(state).toEqual({
      version: 3,
      devices: [{ id: 'dev-1', tokenHash: hash }],
      models: { 'digits-mid': 1 },
    });
  });

  it.each([
    ['not an object', []],
    ['missing version', { devices: [] }],
    ['negative version', { version: -1, devices: [] }],
    ['devices not an array', { version: 1, devices: {} }],
    ['invalid device id', { version: 1, devices: [{ id: 'a/b', tokenHash: hash }] }],
    [
      'duplicate device',
      {
        version: 1,
        devices: [
          { id: 'd', tokenHash: hash },
          { id: 'd', tokenHash: hash },
        ],
      },
    ],
    ['plain token instead of a hash', { version: 1, devices: [{ id: 'd', tokenHash: 'secret' }] }],
    ['bad model version', { version: 1, devices: [], models: { 'digits-mid': 0 } }],
  ])('refuses %s as a whole with INVALID_ARG', (_name, raw) => {
    expect(() => parseDesiredState(raw)).toThrow(expect.objectContaining({ code: 'INVALID_ARG' }));
  });

  it('refuses bytes that are not UTF-8 JSON', () => {
    expect(() => decodeDesiredState(new Uint8Array([0xff, 0xfe, 0x7b]))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARG' }),
    );
  });

  it('passes a deployment block on as it came, and never refuses the device list for it', () => {
    const deployment = { id: 'd-1', model: 'digits-mid', version: 'not a version' };
    const state = parseDesiredState({ version: 4, devices: [{ id: 'dev-1', tokenHash: hash }], deployment });
    expect(state.deployment).toEqual(deployment);
    expect(state.devices).toHaveLength(1);
    expect(parseDesiredState({ version: 4, devices: [] }).deployment).toBeUndefined();
  });

  it('passes a routing block on as it came, and never refuses the device list for it', () => {
    const routing = { id: 'c-1', reason: 'x', device: 'not a policy' };
    const state = parseDesiredState({ version: 4, devices: [{ id: 'dev-1', tokenHash: hash }], routing });
    expect(state.routing).toEqual(routing);
    expect(state.devices).toHaveLength(1);
    expect(parseDesiredState({ version: 4, devices: [] }).routing).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { brokerCapsOf } from './listener-flags.ts';

describe('brokerCapsOf', () => {
  it('maps the failed-authentication flags to the broker options, the other half of the budget from its default', () => {
    expect(brokerCapsOf({})).toEqual({});
    expect(brokerCapsOf({ authFailBurst: 50 })).toEqual({
      authFailures: { perAddress: { ratePerSec: 2, burst: 50 } },
    });
    expect(brokerCapsOf({ authFailRate: 5, authIdFailDelayMs: 0, mqttMaxConnections: 9 })).toEqual({
      maxConnections: 9,
      authFailures: { perAddress: { ratePerSec: 5, burst: 20 }, idFailureDelayMs: 0 },
    });
  });
});

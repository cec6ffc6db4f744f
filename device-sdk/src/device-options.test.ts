/** connectDevice's option rules for durations that run timers (device-options.ts). */
import { describe, expect, it } from 'vitest';
import { resolveDeviceSettings } from './device-options.ts';

const base = { broker: 'mqtt://127.0.0.1:1', deviceId: 'dev-1', edgeId: 'edge-a' };

describe('connectDevice durations', () => {
  it.each([
    ['deadlineMs', { deadlineMs: 2 ** 31 }],
    ['failbackMs', { failbackMs: 3e9 }],
    ['connectTimeoutMs', { connectTimeoutMs: 2 ** 40 }],
    ['reconnect.maxDelayMs', { reconnect: { maxDelayMs: 2 ** 31 } }],
    ['driftHistogram.everyMs', { driftHistogram: { everyMs: 2 ** 31 } }],
  ])('%s past node’s longest timer (it would fire after 1 ms) is INVALID_ARG', (field, bad) => {
    expect(() => resolveDeviceSettings({ ...base, ...bad } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARG',
        message: expect.stringContaining(
          `connectDevice: ${field} must be a number of ms > 0 and <= 2147483647`,
        ),
      }),
    );
  });

  it('takes the longest timer itself', () => {
    const settings = resolveDeviceSettings({
      ...base,
      deadlineMs: 2 ** 31 - 1,
      driftHistogram: { everyMs: 2 ** 31 - 1 },
    });
    expect(settings.deadlineMs).toBe(2 ** 31 - 1);
    expect(settings.driftHistogram).toMatchObject({ everyMs: 2 ** 31 - 1 });
  });
});

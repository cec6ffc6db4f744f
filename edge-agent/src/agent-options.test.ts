import { describe, expect, it } from 'vitest';
import { AGENT_DEFAULTS, type EdgeAgentOptions, resolveAgentOptions } from './agent-options.ts';

const base: EdgeAgentOptions = {
  edgeId: 'edge-1',
  token: 'secret',
  dataDir: '/tmp/edge-1',
  localBroker: { kind: 'embedded', mqttPort: 0 },
};

describe('edge agent options', () => {
  it('fills the documented defaults and freezes the result', () => {
    const resolved = resolveAgentOptions(base);
    expect(resolved).toMatchObject({ ...AGENT_DEFAULTS, edgeId: 'edge-1', breaker: {} });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it.each([
    [{ edgeId: 'no spaces' }, 'edgeId must be 1-64 chars of [A-Za-z0-9._-], got "no spaces"'],
    [{ token: '' }, 'token must be a non-empty string'],
    [{ cloudUrl: 'ftp://cloud' }, 'cloudUrl must be a URL with http://, https://'],
    [{ cloudBrokerUrl: 'http://cloud' }, 'cloudBrokerUrl must be a URL with mqtt://'],
    [{ localBroker: { kind: 'embedded', mqttPort: 70_000 } }, 'localBroker.mqttPort must be a port number'],
    [{ localBroker: { kind: 'external', url: 'nope' } }, 'localBroker.url must be a URL with mqtt://'],
    [{ localBroker: { kind: 'other' } }, 'localBroker.kind must be one of embedded or external'],
    [{ routingScore: 'vibes' }, 'routingScore must be one of maxprob, margin or entropy'],
    [{ routingThreshold: 1.5 }, 'routingThreshold must be a number in 0..1, got 1.5'],
    [{ workers: 0 }, 'workers must be a positive integer, got 0'],
    [{ sizing: 'guess' }, 'sizing must be one of probe or default'],
    [{ maxQueueDelayMs: -1 }, 'maxQueueDelayMs must be a number of ms >= 0 and <= 2147483647'],
    // Past node's longest timer, setTimeout fires after 1 ms: every request would miss its deadline.
    [{ maxDeadlineMs: 2 ** 31 }, 'maxDeadlineMs must be a number of ms >= 0 and <= 2147483647 (~24.8 days'],
    [{ telemetryIntervalMs: 50 }, 'telemetryIntervalMs must be a number of ms >= 100 and <= 2147483647'],
    [{ deviceListPollMs: 50 }, 'deviceListPollMs must be 0 (only at start) or at least 100, got 50'],
    [{ breaker: { errorThresholdPercentage: 0 } }, 'breaker.errorThresholdPercentage must be a percentage'],
    [{ defaultDeadlineMs: 2000, maxDeadlineMs: 1000 }, 'defaultDeadlineMs must not exceed maxDeadlineMs'],
    [{ deviceModelRetry: 5 }, 'deviceModelRetry must be an object, got 5'],
    [
      { deviceModelRetry: { initialDelayMs: 0 } },
      'deviceModelRetry.initialDelayMs must be a number of ms >= 1',
    ],
    [{ deviceModelRetry: { maxDelayMs: '9' } }, 'deviceModelRetry.maxDelayMs must be a number of ms >= 1'],
    [
      { deviceModelRetry: { initialDelayMs: 5000, maxDelayMs: 1000 } },
      'deviceModelRetry.maxDelayMs must not be below deviceModelRetry.initialDelayMs',
    ],
    // A ceiling alone below the default first wait (1 s).
    [{ deviceModelRetry: { maxDelayMs: 500 } }, 'deviceModelRetry.maxDelayMs must not be below'],
  ] as const)('refuses %o with INVALID_ARG', (bad, message) => {
    const options = { ...base, ...bad } as EdgeAgentOptions;
    expect(() => resolveAgentOptions(options)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARG',
        message: expect.stringContaining(`edge agent: ${message}`),
      }),
    );
  });

  it('device model retries: 1 s doubling to 5 min unless told, each bound given alone or both', () => {
    expect(resolveAgentOptions(base).deviceModelRetry).toEqual({ initialDelayMs: 1000, maxDelayMs: 300_000 });
    expect(
      resolveAgentOptions({ ...base, deviceModelRetry: { maxDelayMs: 600_000 } }).deviceModelRetry,
    ).toEqual({
      initialDelayMs: 1000,
      maxDelayMs: 600_000,
    });
    const both = { initialDelayMs: 50, maxDelayMs: 400 };
    expect(resolveAgentOptions({ ...base, deviceModelRetry: both }).deviceModelRetry).toEqual(both);
  });

  it('takes 0 as "no polling" for the device list', () => {
    expect(resolveAgentOptions({ ...base, deviceListPollMs: 0 }).deviceListPollMs).toBe(0);
  });
});

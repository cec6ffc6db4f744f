/**
 * One source of truth for options: the defaults `fogline cloud` and `fogline edge` show and use are
 * the resolvers' defaults objects, and a flag refuses exactly the values its option's rule refuses,
 * with a message naming the flag and what the user typed.
 */
import { CLOUD_RULES, DEFAULT_CLOUD_OPTIONS, SERVING_RULES } from '@fogline/cloud';
import { AGENT_DEFAULTS, AGENT_RULES, BREAKER_DEFAULTS, DEFAULT_EDGE_MQTT_PORT } from '@fogline/edge-agent';
import type { Rule } from '@fogline/shared';
import { type Command, InvalidArgumentError, type Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { numberFlag } from './flags.ts';
import { createProgram } from './main.ts';

function option(command: string, long: string): Option {
  const sub = createProgram().commands.find((c: Command) => c.name() === command);
  const found = sub?.options.find((o) => o.long === long);
  if (!found) throw new Error(`fogline ${command} has no ${long}`);
  return found;
}

describe('flag defaults come from the options objects', () => {
  it.each([
    ['cloud', '--http-port', DEFAULT_CLOUD_OPTIONS.httpPort],
    ['cloud', '--mqtt-port', DEFAULT_CLOUD_OPTIONS.mqttPort],
    ['cloud', '--max-body-bytes', DEFAULT_CLOUD_OPTIONS.maxBodyBytes],
    ['cloud', '--shutdown-timeout-ms', DEFAULT_CLOUD_OPTIONS.shutdownTimeoutMs],
    ['cloud', '--edge-rate', DEFAULT_CLOUD_OPTIONS.edgeRate.ratePerSec],
    ['cloud', '--edge-burst', DEFAULT_CLOUD_OPTIONS.edgeRate.burst],
    ['cloud', '--cloud-model', DEFAULT_CLOUD_OPTIONS.cloudModel],
    ['edge', '--mqtt-port', DEFAULT_EDGE_MQTT_PORT],
    ['edge', '--cloud-model', AGENT_DEFAULTS.cloudModel],
    ['edge', '--model', AGENT_DEFAULTS.model],
    ['edge', '--default-deadline-ms', AGENT_DEFAULTS.defaultDeadlineMs],
    ['edge', '--min-cloud-budget-ms', AGENT_DEFAULTS.minCloudBudgetMs],
    ['edge', '--telemetry-interval-ms', AGENT_DEFAULTS.telemetryIntervalMs],
    ['edge', '--device-list-poll-ms', AGENT_DEFAULTS.deviceListPollMs],
    ['edge', '--shutdown-timeout-ms', AGENT_DEFAULTS.shutdownTimeoutMs],
    ['edge', '--breaker-error-percent', BREAKER_DEFAULTS.errorThresholdPercentage],
    ['edge', '--breaker-volume', BREAKER_DEFAULTS.volumeThreshold],
    ['edge', '--breaker-consecutive', BREAKER_DEFAULTS.consecutiveFailures],
    ['edge', '--breaker-reset-ms', BREAKER_DEFAULTS.resetTimeoutMs],
  ] as const)('fogline %s %s defaults to %s', (command, long, expected) => {
    expect(option(command, long).defaultValue).toBe(expected);
  });
});

describe('flags refuse what their option refuses', () => {
  const cases: [string, string, Rule<number>, string[], string[]][] = [
    ['cloud', '--http-port', CLOUD_RULES.httpPort, ['0', '8000'], ['-1', '65536', 'x']],
    ['cloud', '--workers', SERVING_RULES.workers, ['1', '64'], ['0', '65', '2.5']],
    ['cloud', '--max-queue-delay-ms', SERVING_RULES.maxQueueDelayMs, ['0', '2.5'], ['-1', '60001']],
    ['cloud', '--response-cache-mb', CLOUD_RULES.responseCacheMb, ['0', '0.5', '256'], ['-1', 'lots']],
    ['edge', '--threshold', AGENT_RULES.routingThreshold, ['0', '0.9', '1'], ['1.1', '-0.1', '']],
    ['edge', '--telemetry-interval-ms', AGENT_RULES.telemetryIntervalMs, ['100'], ['99', 'soon']],
    ['edge', '--device-list-poll-ms', AGENT_RULES.deviceListPollMs, ['0', '100'], ['50']],
  ];

  it.each(cases)('fogline %s %s', (command, long, rule, good, bad) => {
    const parse = option(command, long).parseArg as (value: string, previous: unknown) => number;
    for (const text of good) expect(parse(text, undefined)).toBe(Number(text));
    for (const text of bad) {
      expect(rule.test(text.trim() === '' ? Number.NaN : Number(text))).toBe(false);
      expect(() => parse(text, undefined)).toThrow(InvalidArgumentError);
      expect(() => parse(text, undefined)).toThrow(`${long} must be ${rule.must}, got "${text}"`);
    }
  });

  it('reads an empty or blank value as no number', () => {
    expect(() => numberFlag('--n', AGENT_RULES.minCloudBudgetMs)(' ')).toThrow(InvalidArgumentError);
  });
});

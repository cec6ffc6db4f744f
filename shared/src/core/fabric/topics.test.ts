import { describe, expect, it } from 'vitest';
import { topicMatcher, topicMatches, topics } from './topics.ts';

describe('topicMatcher', () => {
  // [MQTT-4.7.1-3]: `+` stands for exactly one whole level, which may be empty.
  const cases: [string, string, boolean][] = [
    [topics.allReports, topics.report('dev-1'), true],
    [topics.allReports, topics.reply('dev-1'), false],
    [topics.allReports, 'fogline/v1/device//report', true],
    [topics.allReports, 'fogline/v1/device/a/b/report', false],
    [topics.allReports, 'fogline/v1/device/report', false],
    [topics.allReports, `${topics.report('dev-1')}/`, false],
    [topics.infer('e1'), topics.infer('e1'), true],
    [topics.infer('e1'), topics.infer('e10'), false],
    ['a/+', 'a/', true],
    ['a/+', 'a', false],
    ['+/b', '/b', true],
    ['+', 'a/b', false],
    ['+/+', 'a/b', true],
    ['a/+/c', 'a/bb/cc', false],
    ['a/+/c', 'ab/x/c', false],
  ];
  it.each(cases)('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatcher(filter)(topic)).toBe(expected);
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

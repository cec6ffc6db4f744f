/**
 * The controller's flags (`fogline cloud`, `fogline up`; docs/field-accuracy.md "The controller,
 * wired"): on or off, how often it runs (and during a drift alarm), the cloud budget. Checked by the cloud's own option rules.
 */
import { CLOUD_RULES, type CloudOptions, DEFAULT_CLOUD_OPTIONS } from '@fogline/cloud';
import { type Command, Option } from 'commander';
import { numberOption } from './flags.ts';

export interface ControllerFlags {
  controller: 'on' | 'off';
  controllerIntervalMs: number;
  controllerAlarmIntervalMs: number;
  controllerCloudBudget: number;
}

export function withControllerFlags(cmd: Command): Command {
  const d = DEFAULT_CLOUD_OPTIONS.controller;
  return cmd
    .addOption(
      new Option(
        '--controller <on|off>',
        "run the controller: re-tunes each edge's thresholds from its audits (off: thresholds stay as deployed)",
      )
        .choices(['on', 'off'])
        .default('on'),
    )
    .addOption(
      numberOption(
        '--controller-interval-ms <ms>',
        'how often the controller decides per edge',
        CLOUD_RULES.controller.intervalMs,
        d.intervalMs,
      ),
    )
    .addOption(
      numberOption(
        '--controller-alarm-interval-ms <ms>',
        'how often it decides while an edge is in a drift alarm (at most the interval)',
        CLOUD_RULES.controller.alarmIntervalMs,
        d.alarmIntervalMs ?? 1_000,
      ),
    )
    .addOption(
      numberOption(
        '--controller-cloud-budget <share>',
        'most of the traffic the controller may send to the cloud, in (0, 1]',
        CLOUD_RULES.controller.cloudBudget,
        d.cloudBudget,
      ),
    );
}

export function controllerSettings(flags: ControllerFlags): CloudOptions['controller'] {
  return {
    ...DEFAULT_CLOUD_OPTIONS.controller,
    enabled: flags.controller === 'on',
    intervalMs: flags.controllerIntervalMs,
    alarmIntervalMs: flags.controllerAlarmIntervalMs,
    cloudBudget: flags.controllerCloudBudget,
  };
}

/**
 * The controller's settings (docs/field-accuracy.md "The controller, wired"; `--controller*` flags of
 * `fogline cloud`) and their defaults.
 */
import type { ControllerKnobs } from '@fogline/toolchain';
import type { FieldWindowSettings } from './field-window.ts';

export interface ControllerSettings {
  /** Decide only when true (`--controller on`); the windows are kept either way. */
  readonly enabled: boolean;
  readonly intervalMs: number;
  /**
   * The round's interval while an edge it read is in a drift alarm (its fallback moves in bounded
   * steps, one per round, each waiting for records): at most `intervalMs`.
   */
  readonly alarmIntervalMs?: number;
  /** Most of the traffic the cloud may answer, in (0, 1] (`--controller-cloud-budget`). */
  readonly cloudBudget: number;
  readonly window: FieldWindowSettings;
  readonly knobs?: Partial<ControllerKnobs>;
}

export const DEFAULT_ALARM_INTERVAL_MS = 500;

export const DEFAULT_CONTROLLER_SETTINGS: ControllerSettings = Object.freeze({
  enabled: true,
  intervalMs: 10_000,
  alarmIntervalMs: DEFAULT_ALARM_INTERVAL_MS,
  cloudBudget: 0.25,
  window: Object.freeze({ maxRecords: 20_000, maxAgeMs: 24 * 3_600_000 }),
});

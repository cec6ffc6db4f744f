/**
 * The edge's drift monitor (docs/edge-agent.md "Drift"; docs/field-accuracy.md "Drift"): the
 * devices' score histograms, summed into windows of at least `windowRequests` inferences, each
 * compared by PSI with the edge config's drift reference (the device model's calibration
 * histogram). A window past `alarmPsi` raises the alarm; `calmWindows` windows in a row at or below
 * it clear it (hysteresis). Every change is one log line, an event in a bounded history and a call
 * of `onAlarm`. Only the device's scores count: the edge's own describe the population the device
 * threshold lets through. Histograms for another model, score kind or bins are refused and counted;
 * they change nothing. No I/O; times from the injected wall clock.
 */
import {
  checkFields,
  DEFAULT_AUDIT_RATE,
  type DriftReference,
  driftModelOf,
  type HistogramRefusal,
  numberIn,
  optionChecker,
  PSI_ALARM,
  positiveInt,
  psi,
  readHistogramReport,
  type ScoreKind,
} from '@fogline/shared';
import type { AgentLogger } from './agent-options.ts';

export interface DriftOptions {
  /** Least inferences per window. Default 500 (below that PSI's noise nears the alarm). */
  readonly windowRequests?: number;
  /** PSI past which a window raises the alarm. Default PSI_ALARM (0.2). */
  readonly alarmPsi?: number;
  /** Windows in a row at or below `alarmPsi` that clear the alarm. Default 3. */
  readonly calmWindows?: number;
  /** Audit rate published for the devices while the alarm is on. Default 0.2. */
  readonly alarmAuditRate?: number;
  /** Audit rate published when the alarm clears, if none was published before it. Default 0.02. */
  readonly calmAuditRate?: number;
  /** Windows and events kept by `driftStatus()`. Default 100 each. */
  readonly historySize?: number;
}

export const DRIFT_DEFAULTS = Object.freeze({
  windowRequests: 500,
  alarmPsi: PSI_ALARM,
  calmWindows: 3,
  alarmAuditRate: 0.2,
  calmAuditRate: DEFAULT_AUDIT_RATE,
  historySize: 100,
});

export type DriftSettings = Readonly<typeof DRIFT_DEFAULTS>;

export const DRIFT_RULES = Object.freeze({
  windowRequests: positiveInt,
  alarmPsi: numberIn(0, 100),
  calmWindows: positiveInt,
  alarmAuditRate: numberIn(0, 1),
  calmAuditRate: numberIn(0, 1),
  historySize: positiveInt,
});

const check = optionChecker('edge agent');

/** The drift options, checked (INVALID_ARG naming the field) and completed with the defaults. */
export function resolveDriftSettings(options: DriftOptions = {}): DriftSettings {
  checkFields(check, options, DRIFT_RULES, 'drift.');
  const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return Object.freeze({ ...DRIFT_DEFAULTS, ...defined });
}

/** One closed window. */
export interface DriftWindow {
  /** Wall-clock time the window closed. */
  readonly at: Date;
  /** Inferences it counts, and how many devices sent them. */
  readonly count: number;
  readonly devices: number;
  readonly psi: number;
  /** Whether the alarm was on after this window. */
  readonly alarm: boolean;
}

export interface DriftEvent {
  readonly at: Date;
  /** true: the alarm went on; false: it cleared. */
  readonly alarm: boolean;
  /** The PSI of the window that changed it. */
  readonly psi: number;
}

export interface DriftStatus {
  /** `name:version` of the device model whose reference the windows are compared with. */
  readonly model: string;
  readonly score: ScoreKind;
  readonly alarmPsi: number;
  readonly windowRequests: number;
  readonly alarm: boolean;
  /** When the alarm went on, while it is on. */
  readonly since: Date | undefined;
  /** PSI of the last closed window. */
  readonly lastPsi: number | undefined;
  /** Closed windows, oldest first (bounded). */
  readonly windows: readonly DriftWindow[];
  /** Alarm on/off changes, oldest first (bounded). */
  readonly events: readonly DriftEvent[];
  /** Times the alarm went on, and windows closed, since start. */
  readonly alarms: number;
  readonly windowsClosed: number;
  /** The window being filled. */
  readonly open: { readonly count: number; readonly devices: number };
  /** Histograms summed, and refused by reason. */
  readonly accepted: number;
  readonly refused: Readonly<Record<HistogramRefusal, number>>;
}

export interface DriftMonitorOptions {
  readonly reference: DriftReference;
  readonly settings: DriftSettings;
  readonly logger: AgentLogger;
  /** Wall clock in ms. Default Date.now. */
  readonly now?: () => number;
  /** Called when the alarm goes on (true) or clears (false), after the log line and the event. */
  readonly onAlarm?: (alarm: boolean, status: DriftStatus) => void;
}

export class DriftMonitor {
  readonly #options: DriftMonitorOptions;
  readonly #now: () => number;
  readonly #model: string;
  readonly #windows: DriftWindow[] = [];
  readonly #events: DriftEvent[] = [];
  readonly #refused: Record<HistogramRefusal, number> = {
    malformed: 0,
    'other-model': 0,
    'other-score': 0,
    'other-bins': 0,
  };
  #counts: number[];
  #count = 0;
  #devices = new Set<string>();
  #accepted = 0;
  #alarmSince: Date | undefined;
  #calm = 0;
  #alarms = 0;
  #windowsClosed = 0;

  constructor(options: DriftMonitorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#model = driftModelOf(options.reference);
    this.#counts = new Array<number>(options.reference.bins.length - 1).fill(0);
  }

  /** One histogram report's body from `deviceId`: summed into the open window, or refused and counted. */
  receive(deviceId: string, body: unknown): void {
    const reading = readHistogramReport(body, this.#options.reference);
    if (!reading.ok) {
      if (this.#refused[reading.code]++ === 0) {
        this.#options.logger.warn(
          `drift: a histogram from ${deviceId} refused (${reading.reason}); further ones only counted`,
        );
      }
      return;
    }
    const { histogram } = reading;
    this.#accepted++;
    histogram.counts.forEach((c, i) => {
      this.#counts[i]! += c;
    });
    this.#count += histogram.count;
    this.#devices.add(deviceId);
    if (this.#count >= this.#options.settings.windowRequests) this.#closeWindow();
  }

  /** Whether the alarm is on (cheap: the audit relay asks while its model is busy). */
  get alarm(): boolean {
    return this.#alarmSince !== undefined;
  }

  status(): DriftStatus {
    const { settings, reference } = this.#options;
    return {
      model: this.#model,
      score: reference.score,
      alarmPsi: settings.alarmPsi,
      windowRequests: settings.windowRequests,
      alarm: this.#alarmSince !== undefined,
      since: this.#alarmSince,
      lastPsi: this.#windows.at(-1)?.psi,
      windows: [...this.#windows],
      events: [...this.#events],
      alarms: this.#alarms,
      windowsClosed: this.#windowsClosed,
      open: { count: this.#count, devices: this.#devices.size },
      accepted: this.#accepted,
      refused: { ...this.#refused },
    };
  }

  #closeWindow(): void {
    const { reference, settings, logger } = this.#options;
    const value = psi(reference.reference, this.#counts);
    const at = new Date(this.#now());
    const window = { count: this.#count, devices: this.#devices.size };
    this.#counts = this.#counts.map(() => 0);
    this.#count = 0;
    this.#devices = new Set();
    this.#windowsClosed++;
    let changed: boolean | undefined;
    if (value > settings.alarmPsi) {
      this.#calm = 0;
      if (this.#alarmSince === undefined) {
        this.#alarmSince = at;
        this.#alarms++;
        changed = true;
      }
    } else if (this.#alarmSince !== undefined && ++this.#calm >= settings.calmWindows) {
      this.#alarmSince = undefined;
      this.#calm = 0;
      changed = false;
    }
    const alarm = this.#alarmSince !== undefined;
    push(this.#windows, Object.freeze({ at, ...window, psi: value, alarm }), settings.historySize);
    if (changed === undefined) return;
    push(this.#events, Object.freeze({ at, alarm, psi: value }), settings.historySize);
    const figures = `PSI ${value.toFixed(3)} over ${window.count} inferences of ${window.devices} device(s), alarm at ${settings.alarmPsi}`;
    if (alarm) logger.warn(`drift: alarm on for ${this.#model} ${reference.score}: ${figures}`);
    else
      logger.info(
        `drift: alarm off for ${this.#model} after ${settings.calmWindows} calm windows: ${figures}`,
      );
    this.#options.onAlarm?.(alarm, this.status());
  }
}

function push<T>(list: T[], item: T, size: number): void {
  list.push(item);
  if (list.length > size) list.splice(0, list.length - size);
}

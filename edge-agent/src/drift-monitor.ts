/**
 * The edge's drift monitor (docs/edge-agent.md "Drift"; docs/field-accuracy.md "Drift"): the
 * devices' score histograms, summed into windows of at least `windowRequests` inferences, each
 * compared by PSI with the edge config's drift reference (the device model's calibration
 * histogram). A window past `alarmPsi` raises the alarm; `calmWindows` windows in a row at or below
 * it clear it (hysteresis). Between windows, the last `windowRequests` inferences (a sliding window
 * of whole histograms, the same sample size) are checked after every histogram, so that a shift
 * raises the alarm as soon as it fills most of a window, not only when a window closes. Every change is one log line, an event in a bounded history and a call
 * of `onAlarm`. Only the device's scores count: the edge's own describe the population the device
 * threshold lets through. Histograms for another model, score kind or bins are refused and counted;
 * they change nothing. No I/O; times from the injected wall clock.
 *
 * Settling (docs/field-accuracy.md "Settling"): a shift that persists keeps PSI high, so the alarm
 * (and its raised audit rate) would never clear. Once the routing has changed since the alarm (the
 * controller acted: `routingChanged()`) and the last `settleWindows` windows of the alarm agree with
 * one another (each within `settlePsi` of their sum), the monitor re-bases: their sum becomes the
 * reference, on the same bins, and the alarm clears. Later windows are compared with that reference,
 * so a further shift raises the alarm again.
 */
import {
  checkFields,
  DEFAULT_AUDIT_RATE,
  type DriftReference,
  driftModelOf,
  fractionsOf,
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
  /** Windows of an alarm that must agree with one another before it settles. Default 3. */
  readonly settleWindows?: number;
  /** Most PSI of each of those windows against their sum; 0: never settle. Default 0.1 ("stable"). */
  readonly settlePsi?: number;
}

export const DRIFT_DEFAULTS = Object.freeze({
  windowRequests: 500,
  alarmPsi: PSI_ALARM,
  calmWindows: 3,
  alarmAuditRate: 0.2,
  calmAuditRate: DEFAULT_AUDIT_RATE,
  historySize: 100,
  settleWindows: 3,
  settlePsi: 0.1,
});

export type DriftSettings = Readonly<typeof DRIFT_DEFAULTS>;

export const DRIFT_RULES = Object.freeze({
  windowRequests: positiveInt,
  alarmPsi: numberIn(0, 100),
  calmWindows: positiveInt,
  alarmAuditRate: numberIn(0, 1),
  calmAuditRate: numberIn(0, 1),
  historySize: positiveInt,
  settleWindows: positiveInt,
  settlePsi: numberIn(0, 100),
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
  /** Cleared by settling on a new reference rather than by calm windows. */
  readonly settled?: boolean;
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
  /** What windows are compared with: the calibration histogram, or the population settled on. */
  readonly reference: 'calibration' | 'settled';
  /** When the monitor last settled, if it has. */
  readonly settledAt: Date | undefined;
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
  /** The shares windows are compared with: the calibration's, until the monitor settles. */
  #expected: readonly number[];
  #settledAt: Date | undefined;
  /** Counts of the windows closed during the alarm (the last settleWindows). */
  #alarmWindows: number[][] = [];
  /** The routing changed since the alarm went on. */
  #acted = false;
  /** The latest histograms, just enough to hold windowRequests inferences (the sliding check). */
  #recent: { readonly counts: readonly number[]; readonly count: number }[] = [];
  #recentCount = 0;

  constructor(options: DriftMonitorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#model = driftModelOf(options.reference);
    this.#counts = new Array<number>(options.reference.bins.length - 1).fill(0);
    this.#expected = options.reference.reference;
  }

  /** The routing of the edge or its devices changed (the controller acted): counts toward settling. */
  routingChanged(): void {
    if (this.#alarmSince !== undefined) this.#acted = true;
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
    this.#slide(histogram.counts, histogram.count);
    if (this.#count >= this.#options.settings.windowRequests) this.#closeWindow();
    else if (this.#alarmSince === undefined) this.#checkSliding();
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
      reference: this.#settledAt === undefined ? 'calibration' : 'settled',
      settledAt: this.#settledAt,
      windows: [...this.#windows],
      events: [...this.#events],
      alarms: this.#alarms,
      windowsClosed: this.#windowsClosed,
      open: { count: this.#count, devices: this.#devices.size },
      accepted: this.#accepted,
      refused: { ...this.#refused },
    };
  }

  #slide(counts: readonly number[], count: number): void {
    const { windowRequests } = this.#options.settings;
    this.#recent.push({ counts, count });
    this.#recentCount += count;
    while (this.#recent.length > 1 && this.#recentCount - this.#recent[0]!.count >= windowRequests) {
      this.#recentCount -= this.#recent.shift()!.count;
    }
  }

  /** The alarm on now when the last windowRequests inferences are past alarmPsi. */
  #checkSliding(): void {
    const { settings } = this.#options;
    if (this.#recentCount < settings.windowRequests) return;
    const value = psi(this.#expected, sumOf(this.#recent.map((h) => [...h.counts])));
    if (!(value > settings.alarmPsi)) return;
    const at = new Date(this.#now());
    this.#alarmSince = at;
    this.#alarms++;
    this.#alarmWindows = [];
    this.#acted = false;
    this.#calm = 0;
    this.#announce(
      at,
      true,
      value,
      false,
      `PSI ${value.toFixed(3)} over the last ${this.#recentCount} inferences, alarm at ${settings.alarmPsi}`,
    );
  }

  #announce(at: Date, alarm: boolean, value: number, settled: boolean, figures: string): void {
    const { reference, settings, logger } = this.#options;
    this.#recent = [];
    this.#recentCount = 0;
    push(
      this.#events,
      Object.freeze({ at, alarm, psi: value, ...(settled && { settled }) }),
      settings.historySize,
    );
    if (alarm) logger.warn(`drift: alarm on for ${this.#model} ${reference.score}: ${figures}`);
    else if (settled)
      logger.info(
        `drift: alarm off for ${this.#model}: settled on the new population (its last ${settings.settleWindows} windows agree within PSI ${settings.settlePsi} and the routing changed since the alarm); ${figures} against the old reference`,
      );
    else
      logger.info(
        `drift: alarm off for ${this.#model} after ${settings.calmWindows} calm windows: ${figures}`,
      );
    this.#options.onAlarm?.(alarm, this.status());
  }

  #closeWindow(): void {
    const { settings } = this.#options;
    const counts = this.#counts;
    const value = psi(this.#expected, counts);
    const at = new Date(this.#now());
    const window = { count: this.#count, devices: this.#devices.size };
    this.#counts = counts.map(() => 0);
    this.#count = 0;
    this.#devices = new Set();
    this.#windowsClosed++;
    let changed: boolean | undefined;
    if (value > settings.alarmPsi) {
      this.#calm = 0;
      if (this.#alarmSince === undefined) {
        this.#alarmSince = at;
        this.#alarms++;
        this.#alarmWindows = [];
        this.#acted = false;
        changed = true;
      }
    } else if (this.#alarmSince !== undefined && ++this.#calm >= settings.calmWindows) {
      this.#alarmSince = undefined;
      this.#calm = 0;
      changed = false;
    }
    let settled = false;
    if (this.#alarmSince !== undefined && changed === undefined) {
      push(this.#alarmWindows, counts, settings.settleWindows);
      if (this.#settles()) {
        this.#expected = fractionsOf(sumOf(this.#alarmWindows));
        this.#settledAt = at;
        this.#alarmSince = undefined;
        this.#calm = 0;
        changed = false;
        settled = true;
      }
    }
    const alarm = this.#alarmSince !== undefined;
    push(this.#windows, Object.freeze({ at, ...window, psi: value, alarm }), settings.historySize);
    if (changed === undefined) return;
    const figures = `PSI ${value.toFixed(3)} over ${window.count} inferences of ${window.devices} device(s), alarm at ${settings.alarmPsi}`;
    this.#announce(at, alarm, value, settled, figures);
  }

  /** The routing changed since the alarm and its last settleWindows windows agree with their sum. */
  #settles(): boolean {
    const { settleWindows, settlePsi } = this.#options.settings;
    if (!(settlePsi > 0) || !this.#acted || this.#alarmWindows.length < settleWindows) return false;
    const pooled = sumOf(this.#alarmWindows);
    return this.#alarmWindows.every((w) => psi(pooled, w) <= settlePsi);
  }
}

function sumOf(windows: readonly number[][]): number[] {
  return windows[0]!.map((_, i) => windows.reduce((sum, w) => sum + w[i]!, 0));
}

function push<T>(list: T[], item: T, size: number): void {
  list.push(item);
  if (list.length > size) list.splice(0, list.length - size);
}

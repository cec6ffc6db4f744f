/**
 * The controller's knobs (docs/field-accuracy.md "How the controller decides"): one typed defaults
 * object, validated once, frozen.
 */
import { DISAGREEMENT_MARGIN, FoglineError, MIN_PSI_RECORDS, REFERENCE_PSI } from '@fogline/shared';

export interface ControllerKnobs {
  /** Allowed disagreement above the calibration's own (d0), judged on the upper Wilson bound: 0.3 pp. */
  readonly margin: number;
  /** Fewest effective held-out records for any refit, even where recordsNeeded(d0, margin) asks fewer. */
  readonly minRecords: number;
  /** Share of the records held out to check the fitted policy (the fit on the rest is optimistic). */
  readonly holdOutShare: number;
  /** Largest change of one stage's threshold per decision (scores lie in [0, 1]). */
  readonly maxStep: number;
  /** Hysteresis: while the current policy meets the objective, a refit must save at least this share of escalations... */
  readonly minGain: number;
  /** ...and come at least this long after the last change. */
  readonly minIntervalMs: number;
  /** Weak reference: the cloud's ground-truth accuracy (upper bound) this far below its calibration accuracy. */
  readonly referenceDrop: number;
  /** Weak reference: edge–cloud agreement (upper bound) this far below its calibration value. */
  readonly agreementCollapse: number;
  /**
   * Weak reference: the cloud's own score histogram on the audits past this PSI... Far above the
   * input-drift alarm (0.2): a confident large model's scores move on any shift (0.8 on digits turned
   * 25–40°, which it still reads at 92 %); 1.6–2.6 where it falls to 66–72 % (docs/field-accuracy.md).
   */
  readonly referencePsi: number;
  /** ...measured on at least this many records. */
  readonly minHistogramRecords: number;
  /** Fallback (fallback.ts): share of the traffic the device keeps answering, the part it is surest of. */
  readonly fallbackDeviceShare: number;
  /** Fallback: share of the cloud budget the cloud answers, measured on the records since the alarm. */
  readonly fallbackCloudShare: number;
  /** Fallback: fewest effective records since the alarm before it is placed. */
  readonly minFallbackRecords: number;
  /** Fallback: re-placed only when that moves at least this share of the traffic between tiers (hysteresis). */
  readonly fallbackTolerance: number;
}

export const DEFAULT_CONTROLLER_KNOBS: ControllerKnobs = Object.freeze({
  margin: DISAGREEMENT_MARGIN,
  minRecords: 200,
  holdOutShare: 0.3,
  maxStep: 0.25,
  minGain: 0.02,
  minIntervalMs: 10 * 60_000,
  referenceDrop: 0.1,
  agreementCollapse: 0.12,
  referencePsi: REFERENCE_PSI,
  minHistogramRecords: MIN_PSI_RECORDS,
  fallbackDeviceShare: 0.5,
  fallbackCloudShare: 0.7,
  minFallbackRecords: 40,
  fallbackTolerance: 0.02,
});

const SHARES: readonly (keyof ControllerKnobs)[] = [
  'margin',
  'holdOutShare',
  'maxStep',
  'minGain',
  'referenceDrop',
  'agreementCollapse',
  'fallbackDeviceShare',
  'fallbackCloudShare',
  'fallbackTolerance',
];

/** Defaults overridden by `overrides`, each checked; throws INVALID_ARG naming the first bad knob. */
export function resolveKnobs(overrides: Partial<ControllerKnobs> = {}): ControllerKnobs {
  const k = { ...DEFAULT_CONTROLLER_KNOBS, ...overrides };
  for (const name of SHARES) {
    if (!(k[name] > 0 && k[name] < 1)) {
      throw new FoglineError('INVALID_ARG', `controller: knob ${name} must be in (0, 1), got ${k[name]}`);
    }
  }
  for (const name of ['minRecords', 'minHistogramRecords', 'minFallbackRecords'] as const) {
    if (!(Number.isInteger(k[name]) && k[name] >= 1)) {
      throw new FoglineError(
        'INVALID_ARG',
        `controller: knob ${name} must be an integer >= 1, got ${k[name]}`,
      );
    }
  }
  if (!(k.minIntervalMs >= 0) || !(k.referencePsi > 0)) {
    throw new FoglineError(
      'INVALID_ARG',
      'controller: knobs minIntervalMs must be >= 0 and referencePsi > 0',
    );
  }
  return Object.freeze(k);
}

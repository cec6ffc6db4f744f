/**
 * Field statistics (docs/field-accuracy.md): what F7's closed loop measures on live traffic —
 * agreement with the reference and its Wilson bounds, weighted by 1/p; score histograms on fixed
 * quantile bins and their population stability index; the rolling window records are kept in; and
 * how many records a decision needs; the paired rollout gate. Pure: no I/O, time from the injected clock.
 */
export * from './agreement.ts';
export * from './audit-drift.ts';
export * from './drift-reference.ts';
export * from './histogram.ts';
export * from './paired-gate.ts';
export * from './records-needed.ts';
export * from './rolling-window.ts';
export * from './wilson.ts';

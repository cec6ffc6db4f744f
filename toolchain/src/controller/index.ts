/**
 * The F7 controller's decision logic (docs/field-accuracy.md "How the controller decides"): pure,
 * deterministic, not yet wired to the running system (audits → records → controller → policy channel).
 */
export * from './decide-policy.ts';
export * from './fallback.ts';
export * from './field-records.ts';
export * from './knobs.ts';
export * from './weak-reference.ts';

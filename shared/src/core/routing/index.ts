/** Routing: score kinds and score functions, the tier type, the routing policy and the one decision rule. */
export * from './decide.ts';
export * from './policy.ts';
export * from './score-kind.ts';
export * from './scores.ts';
export * from './tier.ts';

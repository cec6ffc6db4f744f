/**
 * The score kinds a routing policy can threshold on (docs/design.md "Routing"): maxprob, margin
 * (p1 − p2) and normalised entropy confidence, all in [0, 1], higher = more confident.
 */
export const SCORE_KINDS = Object.freeze(['maxprob', 'margin', 'entropy'] as const);
export type ScoreKind = (typeof SCORE_KINDS)[number];

export function isScoreKind(value: unknown): value is ScoreKind {
  return typeof value === 'string' && (SCORE_KINDS as readonly string[]).includes(value);
}

/**
 * Routing scores ("how sure is this tier?") on a model's softmax p over K classes: maxprob, margin
 * (p1 − p2) and normalised entropy confidence 1 − H(p)/ln K (Sedna's CrossEntropy hard-example rule).
 * All three are in [0, 1], higher = more confident.
 */
import { FoglineError } from '../errors.ts';
import type { ScoreKind } from './score-kind.ts';

function checkRange(length: number, offset: number, k: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(k) || offset < 0 || k < 1 || offset + k > length) {
    throw new FoglineError(
      'INVALID_ARG',
      `scores: row [${offset}, ${offset}+${k}) is outside ${length} values`,
    );
  }
}

/**
 * Numerically stable softmax of `logits[offset .. offset+k)`: subtracting the max keeps exp() in
 * range for logits like ±1e4. +Infinity logits share all the mass; all −Infinity gives uniform.
 */
export function softmax(
  logits: ArrayLike<number>,
  offset = 0,
  k: number = logits.length - offset,
): Float64Array {
  checkRange(logits.length, offset, k);
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < k; i++) {
    const v = logits[offset + i]!;
    if (Number.isNaN(v)) throw new FoglineError('INVALID_ARG', `scores: logit ${i} is NaN`);
    if (v > max) max = v;
  }
  const p = new Float64Array(k);
  if (max === Number.NEGATIVE_INFINITY || max === Number.POSITIVE_INFINITY) {
    // Degenerate rows: uniform over the maximal entries.
    let ties = 0;
    for (let i = 0; i < k; i++) if (logits[offset + i] === max) ties++;
    for (let i = 0; i < k; i++) p[i] = logits[offset + i] === max ? 1 / ties : 0;
    return p;
  }
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const e = Math.exp(logits[offset + i]! - max);
    p[i] = e;
    sum += e;
  }
  for (let i = 0; i < k; i++) p[i]! /= sum;
  return p;
}

/** Index of the largest value in `values[offset .. offset+k)`; the first one on ties. */
export function argmax(values: ArrayLike<number>, offset = 0, k: number = values.length - offset): number {
  checkRange(values.length, offset, k);
  let best = 0;
  for (let i = 1; i < k; i++) if (values[offset + i]! > values[offset + best]!) best = i;
  return best;
}

/** The argmax class of each row of a row-major `[N, K]` batch (none when K = 0). */
export function argmaxRows(values: ArrayLike<number>, k: number): Uint32Array {
  const rows = new Uint32Array(k === 0 ? 0 : values.length / k);
  for (let row = 0; row < rows.length; row++) rows[row] = argmax(values, row * k, k);
  return rows;
}

export function maxprob(probs: ArrayLike<number>): number {
  return probs[argmax(probs)]!;
}

/** p1 − p2, the gap between the two most likely classes (1 when K = 1). */
export function margin(probs: ArrayLike<number>): number {
  checkRange(probs.length, 0, probs.length);
  let first = Number.NEGATIVE_INFINITY;
  let second = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i]!;
    if (v > first) {
      second = first;
      first = v;
    } else if (v > second) second = v;
  }
  return probs.length === 1 ? 1 : first - second;
}

/** 1 − H(p)/ln K: 0 for a uniform p, 1 for one-hot (and for K = 1). */
export function entropyConfidence(probs: ArrayLike<number>): number {
  checkRange(probs.length, 0, probs.length);
  if (probs.length === 1) return 1;
  let h = 0;
  for (let i = 0; i < probs.length; i++) {
    const v = probs[i]!;
    if (v > 0) h -= v * Math.log(v);
  }
  return Math.min(1, Math.max(0, 1 - h / Math.log(probs.length)));
}

export function scoreOf(kind: ScoreKind, probs: ArrayLike<number>): number {
  switch (kind) {
    case 'maxprob':
      return maxprob(probs);
    case 'margin':
      return margin(probs);
    case 'entropy':
      return entropyConfidence(probs);
  }
}

export interface ScoredRows {
  /** argmax class of each row. */
  labels: Uint32Array;
  /** routing score of each row. */
  scores: Float64Array;
}

/** Scores a row-major `[N, K]` batch of logits, row by row. */
export function scoreLogitRows(logits: ArrayLike<number>, k: number, kind: ScoreKind): ScoredRows {
  if (!Number.isInteger(k) || k < 1 || logits.length % k !== 0) {
    throw new FoglineError('INVALID_ARG', `scores: ${logits.length} logits do not form rows of ${k} classes`);
  }
  const n = logits.length / k;
  const labels = new Uint32Array(n);
  const scores = new Float64Array(n);
  for (let row = 0; row < n; row++) {
    const p = softmax(logits, row * k, k);
    labels[row] = argmax(p);
    scores[row] = scoreOf(kind, p);
  }
  return { labels, scores };
}

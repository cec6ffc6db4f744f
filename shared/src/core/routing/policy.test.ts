import { describe, expect, it } from 'vitest';
import {
  ALWAYS_ESCALATE_THRESHOLD,
  DEFAULT_POLICY,
  parseRoutingPolicy,
  resolvePolicy,
  UNCALIBRATED_THRESHOLDS,
} from './policy.ts';

describe('resolvePolicy', () => {
  it('keeps a calibrated threshold and falls back to the documented default when it is null', () => {
    expect(resolvePolicy({ score: 'margin', threshold: 0.42 })).toEqual({ score: 'margin', threshold: 0.42 });
    expect(resolvePolicy({ score: 'entropy', threshold: null })).toEqual({
      score: 'entropy',
      threshold: UNCALIBRATED_THRESHOLDS.entropy,
    });
    expect(resolvePolicy({ score: 'margin' })).toEqual({
      score: 'margin',
      threshold: UNCALIBRATED_THRESHOLDS.margin,
    });
    expect(resolvePolicy(DEFAULT_POLICY)).toEqual({
      score: 'maxprob',
      threshold: UNCALIBRATED_THRESHOLDS.maxprob,
    });
  });

  it('accepts the always-escalate threshold the calibrator writes', () => {
    expect(resolvePolicy({ score: 'maxprob', threshold: ALWAYS_ESCALATE_THRESHOLD }).threshold).toBe(1.01);
  });

  it.each([
    [null, /policy\.score must be one of maxprob, margin, entropy/],
    [{ score: 'vibes', threshold: 0.5 }, /policy\.score/],
    [{ score: 'maxprob', threshold: 2 }, /policy\.threshold .*got 2/],
    [{ score: 'maxprob', threshold: -0.1 }, /policy\.threshold/],
    [{ score: 'maxprob', threshold: Number.NaN }, /policy\.threshold/],
    [{ score: 'maxprob', threshold: '0.5' }, /policy\.threshold/],
  ])('rejects %j as INVALID_ARG naming the field', (raw, message) => {
    expect(() => resolvePolicy(raw)).toThrow(message);
    expect(() => resolvePolicy(raw)).toThrowError(expect.objectContaining({ code: 'INVALID_ARG' }));
  });
});

describe('parseRoutingPolicy', () => {
  it('keeps an uncalibrated threshold as null', () => {
    expect(parseRoutingPolicy({ score: 'margin', threshold: null })).toEqual({
      score: 'margin',
      threshold: null,
    });
  });

  it('reports problems through the caller’s field names', () => {
    const fail = (field: string, problem: string): never => {
      throw new Error(`routing.${field}: ${problem}`);
    };
    expect(() => parseRoutingPolicy({ score: 'maxprob', threshold: 7 }, fail)).toThrow(
      /^routing\.threshold: must be/,
    );
  });
});

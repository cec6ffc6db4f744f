import { describe, expect, it } from 'vitest';
import { type AgreementRecord, agreementOf, tierAgreement } from './agreement.ts';
import { wilsonInterval } from './wilson.ts';

const rec = (
  device: number,
  edge: number | undefined,
  reference: number,
  p = 0.02,
  groundTruth?: number,
): AgreementRecord => ({
  answers: { device, ...(edge === undefined ? {} : { edge }), cloud: reference },
  reference,
  p,
  ...(groundTruth === undefined ? {} : { groundTruth }),
});

describe('agreement of a tier with the reference', () => {
  it('counts the records where the tier ran, at one audit rate as the plain Wilson interval', () => {
    const records = [rec(1, 1, 1), rec(2, 3, 3), rec(4, undefined, 4), rec(5, 5, 5), rec(6, 7, 8)];
    expect(tierAgreement(records, 'device')).toEqual({ ...wilsonInterval(3, 5), nEff: expect.closeTo(5, 9) });
    const edge = tierAgreement(records, 'edge');
    expect(edge.n).toBe(4);
    expect(edge.estimate).toBeCloseTo(3 / 4, 12);
  });

  it('judges against the ground truth where the application reported it', () => {
    // The cloud said 3, the application says the true class is 2: the device was right.
    const records = [rec(2, 2, 3, 0.02, 2), rec(1, 1, 1)];
    expect(tierAgreement(records, 'device').estimate).toBe(1);
    expect(tierAgreement(records, 'cloud').estimate).toBe(0.5);
    // Ground truth only: the one check on the reference itself.
    const onTruth = tierAgreement(records, 'cloud', { basis: 'ground-truth' });
    expect(onTruth).toMatchObject({ estimate: 0, n: 1 });
  });

  it('weights each record by 1/p, so a window where the audit rate changed is not biased', () => {
    // 10 records at p = 0.2 (each stands for 5 requests): all agree. 10 at p = 0.02 (50 each): 5 agree.
    const records = [
      ...Array.from({ length: 10 }, () => rec(1, 1, 1, 0.2)),
      ...Array.from({ length: 10 }, (_, i) => rec(i % 2, 1, 1, 0.02)),
    ];
    const r = tierAgreement(records, 'device');
    expect(r.estimate).toBeCloseTo((50 + 250) / 550, 12);
    expect(r.n).toBe(20);
    expect(r.nEff).toBeCloseTo(550 ** 2 / (10 * 25 + 10 * 2500), 9);
  });

  it('scores any answer, e.g. what another policy would have answered', () => {
    const records = [rec(1, 2, 2), rec(3, 3, 3), rec(4, 5, 6)];
    const edgeElseDevice = agreementOf(records, (r) => r.answers.edge ?? r.answers.device);
    expect(edgeElseDevice).toMatchObject({ n: 3 });
    expect(edgeElseDevice.estimate).toBeCloseTo(2 / 3, 12);
  });

  it('refuses a record whose audit probability is not in (0, 1]', () => {
    expect(() => tierAgreement([rec(1, 1, 1, 0)], 'device')).toThrow(/\(0, 1\]/);
    expect(() => tierAgreement([rec(1, 1, 1, 1.5)], 'device')).toThrow(/\(0, 1\]/);
  });
});

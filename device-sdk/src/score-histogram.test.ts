/** The device's score histograms: counted on the drift reference's bins, sent off the answer's path. */
import { type DeviceReport, type DriftReference, readHistogramReport } from '@fogline/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ScoreHistogram } from './score-histogram.ts';

const reference: DriftReference = {
  score: 'margin',
  model: 'digits-tiny',
  version: 1,
  bins: [0, 0.5, 0.9, 1],
  reference: [0.3, 0.3, 0.4],
  records: 1500,
};

let sent: DeviceReport[];
let online: boolean;
/** The report budget's call back while the sender holds a window back (undefined: none held). */
let heldBack: (() => void) | undefined;
let budgetEmpty: boolean;
let wallMs: number;
const histogramOf = (everyRequests: number, everyMs = 10_000) =>
  new ScoreHistogram({
    reference,
    model: 'digits-tiny:1',
    now: () => wallMs,
    everyRequests,
    everyMs,
    send: (r, retry) => {
      if (budgetEmpty) {
        heldBack = retry;
        return false;
      }
      if (online) sent.push(r);
      return online;
    },
  });

beforeEach(() => {
  vi.useFakeTimers();
  sent = [];
  online = true;
  budgetEmpty = false;
  heldBack = undefined;
  wallMs = 1_000;
});
afterEach(() => vi.useRealTimers());

describe('score histogram', () => {
  it('sends a full window on the next turn, not inside add, with counts the edge reads', () => {
    const h = histogramOf(4);
    for (const s of [0.1, 0.6, 0.95]) h.add(s);
    wallMs = 3_000;
    h.add(1);
    // Cut at exactly 4: a fifth score belongs to the next window.
    h.add(0.2);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.kind).toBe('histogram');
    expect(readHistogramReport(sent[0]!.body, reference)).toMatchObject({
      ok: true,
      histogram: { counts: [1, 1, 2], count: 4, window_start_ms: 1_000, window_end_ms: 3_000 },
    });
    h.close();
    expect(sent[1]!.body.counts).toEqual([1, 0, 0]);
  });

  it('sends a partial window every everyMs, nothing when there is nothing', () => {
    const h = histogramOf(500, 1_000);
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual([]);
    h.add(0.2);
    vi.advanceTimersByTime(1_000);
    expect(sent.map((r) => r.body.counts)).toEqual([[1, 0, 0]]);
    h.close();
  });

  it('keeps a window it could not send and sends it with the next one', () => {
    const h = histogramOf(2);
    online = false;
    h.add(0.2);
    h.add(0.2);
    vi.advanceTimersByTime(0);
    online = true;
    h.add(0.7);
    h.add(0.7);
    vi.advanceTimersByTime(0);
    expect(sent.map((r) => r.body.counts)).toEqual([[2, 2, 0]]);
    h.add(0.99);
    h.close();
    expect(sent.map((r) => r.body.counts)).toEqual([
      [2, 2, 0],
      [0, 0, 1],
    ]);
  });

  it('holds a window back for the report budget, merges what is cut meanwhile, sends it on the call back', () => {
    const h = histogramOf(2);
    budgetEmpty = true;
    h.add(0.2);
    h.add(0.2);
    vi.advanceTimersByTime(0);
    h.add(0.7);
    h.add(0.7);
    h.add(0.99); // the open window: not cut by the call back
    vi.advanceTimersByTime(0);
    expect(sent).toEqual([]);
    budgetEmpty = false;
    heldBack!();
    expect(sent.map((r) => r.body.count)).toEqual([4]);
    expect(sent[0]!.body.counts).toEqual([2, 2, 0]);
    h.close();
    expect(sent.map((r) => r.body.counts)).toEqual([
      [2, 2, 0],
      [0, 0, 1],
    ]);
  });
});

/**
 * The rollout's accuracy gate (docs/field-accuracy.md "Rollout gate") on the committed models under
 * onnxruntime: the previous edge model (digits-mid) and a new one are run on the same inputs and
 * judged against the cloud's reference (digits-large), pair by pair, as the edge's shadow comparison
 * feeds `judgePairedGate`. The broken new model is the same network with its output labels permuted
 * (class k answered as k + 1 mod 10): the gate fails it as soon as it may judge (40 pairs). The same
 * model as its own successor never fails, and passes once enough pairs show no drop.
 */
import { judgePairedGate } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import type * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, runLogits } from './digits-zoo.ts';

const COUNT = 400;
const gate = { minPaired: 40, maxDrop: 0.05 };
let previous: number[];
let reference: number[];
const sessions: ort.InferenceSession[] = [];

function argmaxRows(logits: Float32Array): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / 10; r++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (logits[r * 10 + k]! > logits[r * 10 + best]!) best = k;
    out.push(best);
  }
  return out;
}

/** The verdict after each pair, for the new model's answers `next`. */
function verdicts(next: readonly number[]): { verdict: string; paired: number }[] {
  let oldOnly = 0;
  let newOnly = 0;
  return next.map((answer, i) => {
    const oldRight = previous[i] === reference[i];
    const newRight = answer === reference[i];
    if (oldRight && !newRight) oldOnly++;
    if (newRight && !oldRight) newOnly++;
    const j = judgePairedGate({ paired: i + 1, oldOnlyCorrect: oldOnly, newOnlyCorrect: newOnly, ...gate });
    return { verdict: j.verdict, paired: i + 1 };
  });
}

beforeAll(async () => {
  // The calibration split is ordered by label: take its inputs round-robin over the labels, so every
  // ten pairs hold every class, as live traffic would.
  const split = loadDigits('calibration');
  const perLabel = split.count / 10;
  const images = new Float32Array(COUNT * 784);
  for (let i = 0; i < COUNT; i++) {
    const from = ((i % 10) * perLabel + Math.floor(i / 10)) * 784;
    images.set(split.images.subarray(from, from + 784), i * 784);
  }
  const data = { images, labels: new Uint8Array(COUNT), count: COUNT };
  const mid = await openSession('digits-mid');
  const large = await openSession('digits-large');
  sessions.push(mid, large);
  previous = argmaxRows(await runLogits(mid, data, 0, COUNT));
  reference = argmaxRows(await runLogits(large, data, 0, COUNT));
}, 120_000);

afterAll(async () => {
  for (const s of sessions) await s.release();
});

describe('the paired gate on the committed models', () => {
  it('fails the same network with permuted labels at the first pair it may judge', () => {
    const permuted = previous.map((k) => (k + 1) % 10);
    const firstFail = verdicts(permuted).find((v) => v.verdict === 'fail');
    expect(firstFail?.paired).toBe(gate.minPaired);
  });

  it('never fails a model against itself, and passes it once the pairs show no drop', () => {
    const same = verdicts(previous);
    expect(same.some((v) => v.verdict === 'fail')).toBe(false);
    const firstPass = same.find((v) => v.verdict === 'pass');
    expect(firstPass?.paired).toBeLessThanOrEqual(100);
    expect(same.at(-1)?.verdict).toBe('pass');
  });
});

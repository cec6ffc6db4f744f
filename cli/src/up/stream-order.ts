/**
 * The order in which `fogline up`'s simulated devices stream the digits test split. The split is
 * stored by label (all the zeros, then all the ones, …), so streaming it from index 0 would show a
 * short run nothing but 0s and 1s. A seeded shuffle mixes the labels while keeping runs reproducible;
 * every device walks the same shuffled order from its own offset, so they do not send the same digits.
 */

import { seededRandom } from '@fogline/shared';

/** Seed of the order `fogline up` streams in: the same digits, in the same order, on every run. */
export const DEFAULT_STREAM_SEED = 20240607;

/** A permutation of 0..count-1 (Fisher–Yates), the same one for the same seed. */
export function shuffledIndices(count: number, seed: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  const random = seededRandom(seed);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}

/**
 * The sample indices device `device` (0-based) of `devices` streams: `order` from offset
 * `device × count / devices`, wrapping around, so the devices start spread over the whole order.
 */
export function deviceSampleStream(order: Uint32Array, device: number, devices: number): () => number {
  const count = order.length;
  let at = Math.floor((device * count) / Math.max(1, devices));
  return () => {
    const index = order[at % count]!;
    at++;
    return index;
  };
}

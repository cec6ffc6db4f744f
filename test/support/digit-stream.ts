/**
 * Test support: streams of test digits for the drift and controller tests, and sending them through
 * a device 50 at a time.
 */
import type { Device } from '@fogline/device-sdk';
import { seededRandom } from '@fogline/shared';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';

/** `count` test digits in a seeded order (the split is sorted by class), each pixel through `shift`. */
export function digitStream(
  count: number,
  seed: number,
  shift: (x: number) => number = (x) => x,
): Float32Array[] {
  const { images, count: n } = loadDigits('test');
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const i = Math.floor(random() * n);
    return images.subarray(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS).map(shift);
  });
}

/** Infers every image on `device`, 50 in flight at a time, each within `deadlineMs`. */
export async function inferAll(
  device: Device,
  images: readonly Float32Array[],
  deadlineMs: number,
): Promise<void> {
  for (let i = 0; i < images.length; i += 50) {
    await Promise.all(images.slice(i, i + 50).map((image) => device.infer(image, { deadlineMs })));
  }
}

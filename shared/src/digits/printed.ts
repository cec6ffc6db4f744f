/**
 * The printed-digit set (models/digits/printed.json, written by models/make_printed_digits.py): digits
 * 0-9 in 22 DejaVu fonts, preprocessed like MNIST (28×28 in [0,1], ink = 1). Out of distribution and
 * never trained on: the "other fonts" source of the shifted streams (shift.ts) and a probe of the zoo.
 */
import { readFileSync } from 'node:fs';
import { FoglineError } from '../core/errors.ts';
import { DIGIT_PIXELS, type DigitsData } from './dataset.ts';

export const PRINTED_DIGITS_URL = new URL('../../../models/digits/printed.json', import.meta.url);

export interface PrintedDigits extends DigitsData {
  /** The font of each sample. */
  readonly fonts: readonly string[];
}

let cached: PrintedDigits | undefined;

/** The printed digits, in file order (font by font, 0-9 within a font). Cached. */
export function loadPrintedDigits(): PrintedDigits {
  if (cached) return cached;
  const raw = JSON.parse(readFileSync(PRINTED_DIGITS_URL, 'utf8')) as {
    count?: unknown;
    fonts?: unknown;
    labels?: unknown;
    images_base64_uint8?: unknown;
  };
  const count = raw.count;
  if (
    typeof count !== 'number' ||
    !Array.isArray(raw.labels) ||
    raw.labels.length !== count ||
    !Array.isArray(raw.fonts) ||
    typeof raw.images_base64_uint8 !== 'string'
  ) {
    throw new FoglineError('INTERNAL', 'models/digits/printed.json lacks count, fonts, labels or images');
  }
  const bytes = Buffer.from(raw.images_base64_uint8, 'base64');
  if (bytes.length !== count * DIGIT_PIXELS) {
    throw new FoglineError(
      'INTERNAL',
      `models/digits/printed.json holds ${bytes.length} bytes, not ${count}×784`,
    );
  }
  const images = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) images[i] = (bytes[i] ?? 0) / 255;
  cached = { images, labels: Uint8Array.from(raw.labels as number[]), count, fonts: raw.fonts as string[] };
  return cached;
}

/**
 * The named shifts (presets) and the text form of a shifted stream, as a dataset spec names it
 * (docs/data.md "Shifted streams"):
 *
 *   shift:<preset>[,<field>=<value>...][@seed=<n>]     e.g. shift:rotated@seed=3
 *   shift:<field>=<value>[,...][@seed=<n>]            e.g. shift:rotate=15..30,noise=0.1,count=3000
 *
 * Fields are the Shift fields (`rotate`, `scale`, `strokeWidth`, `noise`, `blur`, `translate`: a number
 * or `min..max`; `printed`: `true`/`false`) plus `count` (items, default the source's size) and
 * `source` (a digits split, default `test`). Fields after a preset override it.
 */
import { FoglineError } from '../core/errors.ts';
import { DIGITS_SPLITS, type DigitsSplit, loadDigits } from './dataset.ts';
import { parseShift, SHIFT_FIELDS, type Shift, type ShiftedStreamSpec } from './shift.ts';

/**
 * Shifts of our own, each measured in bench/reports/shifts.md. Chosen for what they do to the
 * cascade, not for realism: see docs/data.md for the figures.
 */
const PRESETS = {
  /** Turned 25-40° either way: the tiny model stays confident while it is wrong. */
  rotated: { rotate: [25, 40] },
  /** Shrunk to 55-70 % and blurred: every model loses, the tiny one knows it and escalates. */
  'small-blurred': { scale: [0.55, 0.7], blur: [0.8, 1.2] },
  /** Other fonts: the 22 printed DejaVu fonts; the large model copes, the tiny one much less. */
  printed: { printed: true },
  /** Printed, turned, thinned and noisy: all three models alike, the cloud no better (weak reference). */
  'printed-distorted': { printed: true, rotate: [10, 25], strokeWidth: -1, noise: 0.05 },
  /** Thicker strokes with pixel noise: the larger models fall below the tiny one. */
  'thick-noisy': { strokeWidth: 1, noise: [0.08, 0.12] },
} satisfies Record<string, Shift>;

export type ShiftPresetName = keyof typeof PRESETS;

/** The named shifts, validated and frozen (ranges included). */
export const SHIFT_PRESETS: Readonly<Record<ShiftPresetName, Shift>> = Object.freeze(
  Object.fromEntries(Object.entries(PRESETS).map(([name, shift]) => [name, parseShift(shift)])) as Record<
    ShiftPresetName,
    Shift
  >,
);

export function isShiftPreset(name: string): name is ShiftPresetName {
  return Object.hasOwn(SHIFT_PRESETS, name);
}

export const SHIFT_SPEC_PREFIX = 'shift:';

function fail(spec: string, problem: string): never {
  throw new FoglineError('INVALID_ARG', `dataset "${spec}": ${problem}`, { details: { spec } });
}

function wholeNumber(spec: string, field: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    fail(spec, `${field} must be an integer ≥ ${min}, got "${text}"`);
  }
  return n;
}

function rangeValue(spec: string, field: string, text: string): number | [number, number] {
  const parts = text.split('..');
  const values = parts.map(Number);
  if (parts.length > 2 || parts.some((p) => p.trim() === '') || values.some((v) => !Number.isFinite(v))) {
    fail(spec, `${field} must be a number or min..max, got "${text}"`);
  }
  return values.length === 1 ? values[0]! : [values[0]!, values[1]!];
}

/** Reads `shift:...` into a one-segment stream spec; one INVALID_ARG line naming the spec otherwise. */
export function parseShiftSpec(spec: string): ShiftedStreamSpec & { readonly shift: Shift } {
  if (!spec.startsWith(SHIFT_SPEC_PREFIX)) fail(spec, `a shifted stream starts with "${SHIFT_SPEC_PREFIX}"`);
  const [body = '', seedPart, ...extra] = spec.slice(SHIFT_SPEC_PREFIX.length).split('@');
  if (extra.length > 0) fail(spec, 'more than one "@"');
  let seed = 1;
  if (seedPart !== undefined) {
    if (!seedPart.startsWith('seed=')) fail(spec, `after "@" comes seed=<n>, got "${seedPart}"`);
    seed = wholeNumber(spec, 'seed', seedPart.slice('seed='.length), 0);
  }
  const fields: Record<string, unknown> = {};
  let count: number | undefined;
  let source: DigitsSplit = 'test';
  body.split(',').forEach((token, i) => {
    const eq = token.indexOf('=');
    if (eq < 0) {
      const preset = isShiftPreset(token) ? SHIFT_PRESETS[token] : undefined;
      if (i !== 0 || !preset) {
        fail(spec, `"${token}" is not a preset (${Object.keys(SHIFT_PRESETS).join(', ')}) nor field=value`);
      }
      Object.assign(fields, preset);
      return;
    }
    const [key, value] = [token.slice(0, eq), token.slice(eq + 1)];
    if (key === 'count') count = wholeNumber(spec, 'count', value, 1);
    else if (key === 'source') {
      if (!(DIGITS_SPLITS as readonly string[]).includes(value)) {
        fail(spec, `source must be one of ${DIGITS_SPLITS.join(', ')}, got "${value}"`);
      }
      source = value as DigitsSplit;
    } else if (key === 'printed') {
      if (value !== 'true' && value !== 'false') fail(spec, `printed must be true or false, got "${value}"`);
      fields.printed = value === 'true';
    } else if ((SHIFT_FIELDS as readonly string[]).includes(key)) fields[key] = rangeValue(spec, key, value);
    else fail(spec, `unknown field "${key}" (have: ${[...SHIFT_FIELDS, 'count', 'source'].join(', ')})`);
  });
  let shift: Shift;
  try {
    shift = parseShift(fields);
  } catch (cause) {
    fail(spec, cause instanceof Error ? cause.message : String(cause));
  }
  const items = count ?? loadDigits(source).count;
  return { source, seed, shift, segments: [{ count: items, shift }] };
}

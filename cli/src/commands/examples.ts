/**
 * `fogline examples export`: the cloud's hard examples (docs/field-accuracy.md "Hard examples") as a
 * dataset in the `.npy` pair form every `--data` flag reads (docs/data.md): `inputs.npy` (f4, the
 * prepared input values, [N, ...sample dims]), `labels.npy` (i4 class indices) and `manifest.json`
 * (counts per source, reason and class, the time range, what was skipped, one line per example).
 * Biased samples, for training only: never for the controller or a rollout gate.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_LOW_SCORE, type ExampleView, realInput } from '@fogline/cloud';
import { FoglineError } from '@fogline/shared';
import { encodeNpy } from '@fogline/toolchain';
import { type Command, InvalidArgumentError } from 'commander';
import { parsePositiveInt } from '../flags.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';

interface ExportFlags extends AdminTargetFlags {
  since: Date;
  edge?: string;
  out: string;
  limit: number;
  lowScore: number;
}

const DURATION_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PAGE_RECORDS = 2_000;
export const MAX_EXPORT = 100_000;

/** `--since`: an ISO 8601 time, or a duration back from now (`90m`, `24h`, `7d`). */
export function parseSince(value: string, now = Date.now()): Date {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  const date = m ? new Date(now - Number(m[1]) * DURATION_MS[m[2]!]!) : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(
      `--since must be an ISO 8601 time or a duration like 24h or 7d, got "${value}"`,
    );
  }
  return date;
}

export function registerExamples(program: Command): void {
  const examples = program
    .command('examples')
    .description("hard examples from the cloud's field records, for training (never for rollout gates)");
  withAdminTarget(
    examples
      .command('export')
      .description(
        'write the inputs where tiers disagreed, the answer was wrong or scored low, with their labels, as an inputs.npy + labels.npy dataset with a manifest.json',
      )
      .requiredOption(
        '--since <time|duration>',
        'records stored since an ISO time, or this long ago (24h, 7d)',
        (v) => parseSince(v),
      )
      .option('--edge <id>', "only this edge's records")
      .option('--out <dir>', 'folder to write', 'hard-examples')
      .option(
        '--limit <n>',
        `at most this many examples (≤ ${MAX_EXPORT})`,
        (v) => {
          const n = parsePositiveInt('--limit')(v);
          if (n > MAX_EXPORT)
            throw new InvalidArgumentError(`--limit must be at most ${MAX_EXPORT}, got ${v}`);
          return n;
        },
        10_000,
      )
      .option(
        '--low-score <x>',
        "an answer is hard when its tier's routing score is below this (0..1)",
        (v) => {
          const x = Number(v);
          if (!(x >= 0 && x <= 1))
            throw new InvalidArgumentError(`--low-score must be within [0, 1], got "${v}"`);
          return x;
        },
        DEFAULT_LOW_SCORE,
      ),
  ).action(exportExamples);
}

async function exportExamples(flags: ExportFlags): Promise<void> {
  const client = await adminClient(flags);
  const picked: ExampleView[] = [];
  let scanned = 0;
  let skippedNoInput = 0;
  let after: number | undefined;
  let pages = 0;
  do {
    const page = await client.hardExamples({
      since: flags.since,
      ...(flags.edge !== undefined && { edge: flags.edge }),
      ...(after !== undefined && { after }),
      scan: PAGE_RECORDS,
      lowScore: flags.lowScore,
    });
    scanned += page.scanned;
    skippedNoInput += page.skipped_no_input;
    picked.push(...page.examples.slice(0, flags.limit - picked.length));
    after = page.next ?? undefined;
    if (++pages > 1 || after !== undefined) {
      process.stderr.write(`examples: ${scanned} records scanned, ${picked.length} hard examples\n`);
    }
  } while (after !== undefined && picked.length < flags.limit);
  const dataset = toDataset(picked);
  const manifest = {
    note: 'Hard examples: a biased sample of field records, for training only; never for the controller or rollout gates.',
    exported_at: new Date().toISOString(),
    since: flags.since.toISOString(),
    edge: flags.edge ?? null,
    low_score: flags.lowScore,
    count: dataset.kept.length,
    scanned,
    skipped: { no_input: skippedNoInput, other_shape: dataset.otherShape },
    complete: after === undefined,
    sample_shape: dataset.shape,
    time_range: timeRange(dataset.kept),
    by_source: countBy(dataset.kept, (e) => e.source),
    by_reason: countBy(
      dataset.kept.flatMap((e) => e.reasons.map((reason) => ({ reason }))),
      (e) => e.reason,
    ),
    by_class: countBy(dataset.kept, (e) => String(e.label)),
    examples: dataset.kept.map((e) => ({
      id: e.id,
      source: e.source,
      edge: e.edge,
      device: e.device,
      request_id: e.request_id,
      answered_at: e.answered_at,
      label: e.label,
      label_from: e.label_from,
      reasons: e.reasons,
    })),
  };
  await mkdir(flags.out, { recursive: true });
  if (dataset.kept.length > 0) {
    const n = dataset.kept.length;
    await writeFile(join(flags.out, 'inputs.npy'), encodeNpy('f4', [n, ...dataset.shape], dataset.values));
    await writeFile(
      join(flags.out, 'labels.npy'),
      encodeNpy(
        'i4',
        [n],
        dataset.kept.map((e) => e.label),
      ),
    );
  }
  await writeFile(join(flags.out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (flags.json) return void console.log(JSON.stringify({ ...manifest, examples: undefined }, null, 2));
  const sources = Object.entries(manifest.by_source)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  console.log(
    `wrote ${dataset.kept.length} hard examples (${sources || 'none'}) to ${flags.out} from ${scanned} records; skipped ${skippedNoInput} without input, ${dataset.otherShape} of another input shape`,
  );
}

interface ExportedDataset {
  kept: ExampleView[];
  shape: number[];
  values: Float32Array;
  otherShape: number;
}

/** The examples' inputs as one [N, ...shape] array: the first example's sample shape; others skipped. */
function toDataset(examples: readonly ExampleView[]): ExportedDataset {
  const inputs = examples.map((e) => realInput(e.input));
  const shape = inputs[0]?.shape ?? [];
  const key = shape.join('x');
  const kept: ExampleView[] = [];
  const rows: Float32Array[] = [];
  for (const [i, input] of inputs.entries()) {
    if (input.shape.join('x') !== key) continue;
    kept.push(examples[i]!);
    rows.push(input.values);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(rows.length * size);
  rows.forEach((row, i) => {
    if (row.length !== size)
      throw new FoglineError('INVALID_ARG', `example ${kept[i]!.id}: input size mismatch`);
    values.set(row, i * size);
  });
  return { kept, shape, values, otherShape: examples.length - kept.length };
}

function timeRange(examples: readonly ExampleView[]): { from: string; to: string } | null {
  if (examples.length === 0) return null;
  const times = examples.map((e) => e.answered_at).sort();
  return { from: times[0]!, to: times.at(-1)! };
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

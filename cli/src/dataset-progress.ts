/**
 * Progress of anything that runs over a dataset (reading it, calibrating, evaluating), on stderr:
 * a bar when stderr is a terminal, otherwise a plain line every 25 % (logs stay readable). Also the
 * CLI's way to read a `--data` flag: skipped files are reported on stderr as `path: reason`.
 */
import { type Dataset, type DatasetProgress, type DatasetTarget, loadDataset } from '@fogline/toolchain';
import cliProgress from 'cli-progress';

export interface ProgressReporter {
  readonly onProgress: (p: DatasetProgress) => void;
  /** Ends the bar (or the lines); safe to call twice or without any progress. */
  stop(): void;
}

const PLAIN_STEP = 0.25;

export function datasetProgress(what: string, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      { stream, format: `${what} [{bar}] {value}/{total}`, hideCursor: true, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      onProgress: ({ done, total }) => {
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(done);
      },
      stop: () => {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let next = PLAIN_STEP;
  return {
    onProgress: ({ done, total }) => {
      if (total <= 0 || done / total < next) return;
      while (done / total >= next) next += PLAIN_STEP;
      stream.write(`${what}: ${Math.round((done / total) * 100)} % (${done}/${total})\n`);
    },
    stop: () => {},
  };
}

/** Reads `--data <spec>` for `target`, with progress and the skipped files on stderr. */
export async function readDataset(
  spec: string,
  target: DatasetTarget,
  options: { strict?: boolean; what?: string } = {},
): Promise<Dataset> {
  const progress = datasetProgress(options.what ?? `reading ${spec}`);
  try {
    const set = await loadDataset(spec, target, {
      strict: options.strict === true,
      onBadFile: (line) => process.stderr.write(`skipped ${line}\n`),
      onProgress: progress.onProgress,
    });
    if (set.skipped.length > 0) {
      process.stderr.write(
        `${spec}: ${set.skipped.length} file(s) skipped, ${set.count} sample(s) read (--strict stops at the first)\n`,
      );
    }
    return set;
  } finally {
    progress.stop();
  }
}

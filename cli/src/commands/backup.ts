/**
 * `fogline backup` / `fogline restore`: the cloud's data dir (admin token, embedded PGlite database,
 * model store) to one .tar.gz and back (docs/scale-out.md "Backup and restore"). Both refuse a data
 * dir a cloud runs on; restore refuses a non-empty target without --force. With PostgreSQL
 * (DATABASE_URL), back the database up with pg_dump as well: this covers only the data dir.
 */
import { backupDataDir, DEFAULT_DATA_DIR, restoreDataDir } from '@fogline/cloud';
import type { Command } from 'commander';
import { parsePositiveInt } from '../flags.ts';

const MiB = 2 ** 20;

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .description(
      "write a stopped cloud's data dir (admin token, PGlite database, model store) to a .tar.gz (0600)",
    )
    .option('--data-dir <dir>', "the cloud's state directory", DEFAULT_DATA_DIR)
    .requiredOption('--out <file>', 'the archive to write, e.g. fogline-backup.tar.gz')
    .action(async (flags: { dataDir: string; out: string }) => {
      const result = await backupDataDir(flags.dataDir, flags.out);
      process.stdout.write(
        `backed up ${flags.dataDir} to ${result.file} (${result.entries} entries, ${result.bytes} bytes)\n`,
      );
    });

  program
    .command('restore')
    .description('restore a `fogline backup` archive into a data dir, for a cloud to start on')
    .requiredOption('--in <file>', 'the archive `fogline backup` wrote')
    .option('--data-dir <dir>', 'the data dir to restore into (created 0700 if missing)', DEFAULT_DATA_DIR)
    .option('--force', 'replace the contents of a non-empty data dir (never one a cloud runs on)')
    .option(
      '--max-expanded-mb <MiB>',
      "refuse an archive that inflates past this (default: 32× the archive's size, at least 1024)",
      parsePositiveInt('--max-expanded-mb'),
    )
    .action(async (flags: { in: string; dataDir: string; force?: boolean; maxExpandedMb?: number }) => {
      const result = await restoreDataDir(flags.in, flags.dataDir, {
        force: flags.force === true,
        warn: (line) => process.stderr.write(`fogline: ${line}\n`),
        ...(flags.maxExpandedMb !== undefined && { maxExpandedBytes: flags.maxExpandedMb * MiB }),
      });
      const how = result.replaced ? 'replaced the contents of' : 'restored into';
      process.stdout.write(`${how} ${result.dataDir} from ${flags.in} (${result.entries} entries)\n`);
    });
}

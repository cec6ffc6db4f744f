/**
 * `fogline keys create|list|revoke`: API keys for the cloud's inference endpoint, through the running
 * cloud's admin API. `--url` / `--admin-token` or, by default, both read from `--data-dir`.
 */
import {
  CloudAdminClient,
  DEFAULT_DATA_DIR,
  type KeyView,
  NAME_RULE,
  resolveAdminTarget,
} from '@fogline/cloud';
import { positive } from '@fogline/shared';
import type { Command } from 'commander';
import { numberFlag, parsePositiveInt } from '../flags.ts';
import { formatTable } from '../format.ts';

interface TargetFlags {
  url?: string;
  adminToken?: string;
  dataDir: string;
  json?: boolean;
}

function withTarget(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'cloud base URL (default: from <data-dir>/cloud.json)')
    .option('--admin-token <token>', 'admin token (default: <data-dir>/admin-token)')
    .option('--data-dir <dir>', "the cloud's state directory", DEFAULT_DATA_DIR)
    .option('--json', 'print JSON');
}

async function client(flags: TargetFlags): Promise<CloudAdminClient> {
  return new CloudAdminClient(await resolveAdminTarget(flags));
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys of the cloud inference endpoint');

  withTarget(
    keys
      .command('create')
      .argument('<name>', `the new key's name (${NAME_RULE})`)
      .description('create an API key (the key is shown once)')
      .requiredOption(
        '--rate <req/s>',
        'token-bucket refill rate, requests per second',
        numberFlag('--rate', positive),
      )
      .requiredOption('--burst <n>', 'token-bucket capacity', parsePositiveInt('--burst')),
  ).action(async (name: string, flags: TargetFlags & { rate: number; burst: number }) => {
    const created = await (await client(flags)).createKey(name, flags.rate, flags.burst);
    if (flags.json) return void console.log(JSON.stringify({ name: created.name, key: created.key }));
    console.log(`created API key '${created.name}' (rate ${created.ratePerSec}/s, burst ${created.burst})`);
    console.log(`key (shown once): ${created.key}`);
  });

  withTarget(keys.command('list').description('list API keys (never their secrets)')).action(
    async (flags: TargetFlags) => {
      const list = await (await client(flags)).listKeys();
      if (flags.json) return void console.log(JSON.stringify(list));
      console.log(formatTable(['name', 'prefix', 'rate/s', 'burst', 'created', 'revoked'], list.map(row)));
    },
  );

  withTarget(
    keys
      .command('revoke')
      .argument('<name>', 'the key to revoke')
      .description('revoke an API key (effective on its next request)'),
  ).action(async (name: string, flags: TargetFlags) => {
    const revoked = await (await client(flags)).revokeKey(name);
    if (flags.json) return void console.log(JSON.stringify(revoked));
    console.log(`revoked API key '${revoked.name}'`);
  });
}

function row(k: KeyView): string[] {
  return [k.name, k.keyPrefix, String(k.ratePerSec), String(k.burst), k.createdAt, k.revokedAt ?? '-'];
}

/**
 * `fogline keys create|list|revoke`: API keys for the cloud's inference endpoint, through the running
 * cloud's admin API. `--url` / `--admin-token` or, by default, both read from `--data-dir`.
 */
import { type KeyView, NAME_RULE } from '@fogline/cloud';
import { positive } from '@fogline/shared';
import type { Command } from 'commander';
import { numberFlag, parsePositiveInt } from '../flags.ts';
import { formatTable } from '../format.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys of the cloud inference endpoint');

  withAdminTarget(
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
  ).action(async (name: string, flags: AdminTargetFlags & { rate: number; burst: number }) => {
    const created = await (await adminClient(flags)).createKey(name, flags.rate, flags.burst);
    if (flags.json) return void console.log(JSON.stringify({ name: created.name, key: created.key }));
    console.log(`created API key '${created.name}' (rate ${created.ratePerSec}/s, burst ${created.burst})`);
    console.log(`key (shown once): ${created.key}`);
  });

  withAdminTarget(keys.command('list').description('list API keys (never their secrets)')).action(
    async (flags: AdminTargetFlags) => {
      const list = await (await adminClient(flags)).listKeys();
      if (flags.json) return void console.log(JSON.stringify(list));
      console.log(formatTable(['name', 'prefix', 'rate/s', 'burst', 'created', 'revoked'], list.map(row)));
    },
  );

  withAdminTarget(
    keys
      .command('revoke')
      .argument('<name>', 'the key to revoke')
      .description('revoke an API key (effective on its next request)'),
  ).action(async (name: string, flags: AdminTargetFlags) => {
    const revoked = await (await adminClient(flags)).revokeKey(name);
    if (flags.json) return void console.log(JSON.stringify(revoked));
    console.log(`revoked API key '${revoked.name}'`);
  });
}

function row(k: KeyView): string[] {
  return [k.name, k.keyPrefix, String(k.ratePerSec), String(k.burst), k.createdAt, k.revokedAt ?? '-'];
}

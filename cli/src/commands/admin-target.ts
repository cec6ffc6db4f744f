/**
 * The flags every admin command shares (`fogline keys`, `fogline edges`, `fogline devices`): which
 * cloud to talk to. `--url` / `--admin-token` or, by default, both read from `--data-dir` (cloud.json,
 * admin-token).
 */
import { CloudAdminClient, DEFAULT_DATA_DIR, resolveAdminTarget } from '@fogline/cloud';
import type { Command } from 'commander';
import { addClientCa, readClientCa } from '../trust-flags.ts';

export interface AdminTargetFlags {
  url?: string;
  adminToken?: string;
  dataDir: string;
  json?: boolean;
  tlsCa?: string;
}

export function withAdminTarget(cmd: Command): Command {
  return addClientCa(cmd, 'an https:// cloud')
    .option('--url <url>', 'cloud base URL (default: from <data-dir>/cloud.json)')
    .option('--admin-token <token>', 'admin token (default: <data-dir>/admin-token)')
    .option('--data-dir <dir>', "the cloud's state directory", DEFAULT_DATA_DIR)
    .option('--json', 'print JSON');
}

export async function adminClient(flags: AdminTargetFlags): Promise<CloudAdminClient> {
  const ca = await readClientCa(flags);
  return new CloudAdminClient(await resolveAdminTarget({ ...flags, ...(ca !== undefined && { ca }) }));
}

/**
 * `fogline certs dev`: a local CA and a server certificate it signs, to try TLS without a real CA
 * (docs/security.md "TLS"). Writes ca.pem, ca-key.pem, server.pem and server-key.pem into a 0700
 * directory, each 0600; refuses to overwrite them unless --force.
 */
import { access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_DATA_DIR } from '@fogline/cloud';
import { mkdirPrivate, writePrivateFile } from '@fogline/shared/storage';
import { defaultDevHosts, makeDevCertificates } from '@fogline/shared/tls';
import type { Command } from 'commander';

interface CertsDevFlags {
  out: string;
  hosts?: string;
  days: string;
  force?: boolean;
}

export const DEV_CERT_FILES = Object.freeze({
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
});

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('certificates for TLS (docs/security.md)');
  certs
    .command('dev')
    .description('make a local CA and a server certificate signed by it, to try TLS (not for production)')
    .option('--out <dir>', 'directory to write them to (made 0700)', join(DEFAULT_DATA_DIR, 'certs'))
    .option(
      '--hosts <list>',
      `comma-separated names and IP addresses the server certificate is for (default ${defaultDevHosts().join(',')})`,
    )
    .option('--days <n>', 'validity in days', '825')
    .option('--force', 'overwrite certificates already in --out')
    .action(runCertsDev);
}

async function runCertsDev(flags: CertsDevFlags): Promise<void> {
  const hosts = flags.hosts === undefined ? defaultDevHosts() : flags.hosts.split(',').map((h) => h.trim());
  if (hosts.length === 0 || hosts.some((h) => h === '' || /\s/.test(h))) {
    throw new Error(`--hosts must be a comma-separated list of names or addresses, got "${flags.hosts}"`);
  }
  const days = Number(flags.days);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new Error(`--days must be an integer in [1, 3650], got "${flags.days}"`);
  }
  const out = resolve(flags.out);
  const files = Object.fromEntries(
    Object.entries(DEV_CERT_FILES).map(([k, name]) => [k, join(out, name)]),
  ) as Record<keyof typeof DEV_CERT_FILES, string>;
  if (!flags.force) {
    for (const file of Object.values(files)) {
      if (await exists(file)) throw new Error(`${file} exists; pass --force to replace the certificates`);
    }
  }
  const made = makeDevCertificates(hosts, days);
  await mkdirPrivate(out);
  for (const key of Object.keys(DEV_CERT_FILES) as (keyof typeof DEV_CERT_FILES)[]) {
    await writePrivateFile(files[key], made[key]);
  }
  console.log(
    `wrote a dev CA and a server certificate for ${hosts.join(', ')} (valid ${days} days) to ${out}:`,
  );
  console.log(`  fogline cloud --tls-cert ${files.serverCert} --tls-key ${files.serverKey}`);
  console.log(`  clients trust ${files.caCert}: --tls-ca, curl --cacert, mosquitto_sub --cafile`);
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

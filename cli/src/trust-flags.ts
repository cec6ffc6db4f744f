/**
 * Flags about trust that several commands share (docs/security.md): the data dir's modes
 * (`--insecure-data-dir`), a server's certificate (`--tls-cert`/`--tls-key`, or $FOGLINE_TLS_CERT and
 * $FOGLINE_TLS_KEY) and the CA a client trusts (`--tls-ca`, or $FOGLINE_TLS_CA).
 */
import { readCa } from '@fogline/shared/tls';
import type { Command } from 'commander';

export interface TrustFlags {
  insecureDataDir?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** PEM files of a server's certificate chain and key. */
export interface ServerTlsFiles {
  certFile: string;
  keyFile: string;
}

export function addDataDirTrust(command: Command): Command {
  return command.option(
    '--insecure-data-dir',
    'start even if the data dir is group- or world-accessible (it is refused otherwise; docs/security.md)',
  );
}

/**
 * `--tls-cert`/`--tls-key`: what `listeners` names is served over TLS (e.g. "HTTPS, MQTTS and WSS");
 * SIGHUP re-reads both files (`reloadTlsOnSighup`).
 */
export function addServerTls(command: Command, listeners: string): Command {
  return command
    .option(
      '--tls-cert <pem>',
      `certificate chain (PEM) to serve ${listeners}; SIGHUP re-reads it and the key (default $FOGLINE_TLS_CERT)`,
    )
    .option('--tls-key <pem>', 'private key (PEM) of --tls-cert (default $FOGLINE_TLS_KEY)');
}

/** `--tls-ca`: a CA (PEM) to trust besides the system's, for servers with self-signed certificates. */
export function addClientCa(command: Command, servers: string): Command {
  return command.option(
    '--tls-ca <pem>',
    `CA certificate (PEM) to trust for ${servers}, besides the system CAs (default $FOGLINE_TLS_CA)`,
  );
}

/** The certificate and key from the flags, else the environment; none, or both (else an error). */
export function serverTlsFiles(flags: TrustFlags, env = process.env): ServerTlsFiles | undefined {
  const certFile = flags.tlsCert ?? nonEmpty(env.FOGLINE_TLS_CERT);
  const keyFile = flags.tlsKey ?? nonEmpty(env.FOGLINE_TLS_KEY);
  if (certFile === undefined && keyFile === undefined) return undefined;
  // A plain error, not commander's: this runs after parsing, where only main() prints errors.
  if (certFile === undefined) throw new Error('--tls-key needs --tls-cert (or $FOGLINE_TLS_CERT)');
  if (keyFile === undefined) throw new Error('--tls-cert needs --tls-key (or $FOGLINE_TLS_KEY)');
  return { certFile, keyFile };
}

/** The CA file from the flag, else $FOGLINE_TLS_CA. */
export function clientCaFile(flags: TrustFlags, env = process.env): string | undefined {
  return flags.tlsCa ?? nonEmpty(env.FOGLINE_TLS_CA);
}

/** The PEM of the CA named by `--tls-ca` or $FOGLINE_TLS_CA, read; undefined when none is named. */
export async function readClientCa(flags: TrustFlags, env = process.env): Promise<string | undefined> {
  const file = clientCaFile(flags, env);
  return file === undefined ? undefined : readCa(file);
}

/** SIGHUP re-reads the certificate (`reload`); the outcome is one line for `say`. */
export function reloadTlsOnSighup(reload: () => Promise<void>, say: (line: string) => void): void {
  process.on('SIGHUP', () => {
    reload().then(
      () => say('SIGHUP: TLS certificate reloaded'),
      (err: unknown) => say(`SIGHUP: certificate not reloaded: ${(err as Error).message}`),
    );
  });
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text.trim() === '' ? undefined : text;
}

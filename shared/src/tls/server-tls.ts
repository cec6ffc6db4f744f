/**
 * A server's certificate from PEM files (`--tls-cert`/`--tls-key`), checked when read, and re-read on
 * demand (SIGHUP): every TLS server that serves it gets the new context with `setSecureContext`, so
 * connections open at the time keep going and new handshakes see the new certificate.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { FoglineError } from '../core/errors.ts';

/** PEM files of a certificate chain and its private key. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** Reads and checks the pair: INVALID_ARG names the file that is missing or does not match. */
export async function readServerTls(files: TlsFiles): Promise<SecureContextOptions> {
  const cert = await readPem(files.certFile, 'certificate');
  const key = await readPem(files.keyFile, 'private key');
  try {
    createSecureContext({ cert, key });
  } catch (cause) {
    throw new FoglineError(
      'INVALID_ARG',
      `TLS certificate ${files.certFile} and key ${files.keyFile} cannot be used together: ${(cause as Error).message}`,
      { cause },
    );
  }
  return { cert, key };
}

/** A CA certificate (PEM) a client trusts besides the system's (`--tls-ca`). */
export async function readCa(file: string): Promise<string> {
  return (await readPem(file, 'CA certificate')).toString('utf8');
}

/** The servers one certificate serves, and its reload. */
export class ServerTls {
  private readonly servers = new Set<TlsServer>();

  private constructor(
    readonly files: TlsFiles,
    private current: SecureContextOptions,
  ) {}

  static async load(files: TlsFiles): Promise<ServerTls> {
    return new ServerTls(files, await readServerTls(files));
  }

  /** Options for `tls.createServer` / `https.createServer`. */
  get options(): SecureContextOptions {
    return this.current;
  }

  /**
   * Registers a server to update on reload (until it closes). A client whose handshake fails or
   * times out (`handshakeTimeout`) is cut: Node only reports it ('tlsClientError') and keeps the socket.
   */
  serve(server: TlsServer): void {
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
  }

  /** Re-reads the files; on success every server uses them for new handshakes, else nothing changes. */
  async reload(): Promise<void> {
    const next = await readServerTls(this.files);
    for (const server of this.servers) server.setSecureContext(next);
    this.current = next;
  }
}

async function readPem(file: string, what: string): Promise<Buffer> {
  let pem: Buffer;
  try {
    pem = await readFile(file);
  } catch (cause) {
    throw new FoglineError(
      'INVALID_ARG',
      `cannot read the TLS ${what} ${file}: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  if (!pem.includes('-----BEGIN ')) {
    throw new FoglineError('INVALID_ARG', `TLS ${what} ${file} is not PEM (no "-----BEGIN" line)`);
  }
  return pem;
}

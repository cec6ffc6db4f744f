import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { tempDir } from '@fogline/cloud/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runFogline } from '../testing/run-fogline.ts';

const root = tempDir('certs');
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('fogline certs dev (process)', { timeout: 60_000 }, () => {
  it('writes a CA and a server certificate it signs for --hosts, private, and will not overwrite them', async () => {
    const out = join(root, 'made');
    const made = await runFogline(
      'certs',
      'dev',
      '--out',
      out,
      '--hosts',
      'edge.local,10.0.0.7',
      '--days',
      '30',
    );
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(`--tls-cert ${join(out, 'server.pem')}`);
    const read = (f: string) => readFileSync(join(out, f), 'utf8');
    const ca = new X509Certificate(read('ca.pem'));
    const server = new X509Certificate(read('server.pem'));
    expect(ca.ca).toBe(true);
    expect(server.ca).toBe(false);
    expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true);
    expect(server.subjectAltName).toBe('DNS:edge.local, IP Address:10.0.0.7');
    expect(server.checkHost('edge.local')).toBe('edge.local');
    const days = (Date.parse(server.validTo) - Date.parse(server.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(30);
    // The key belongs to the certificate (a TLS server can load the pair).
    expect(() =>
      createSecureContext({ cert: read('server.pem'), key: read('server-key.pem') }),
    ).not.toThrow();
    expect(statSync(out).mode & 0o777).toBe(0o700);
    for (const f of ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem']) {
      expect(statSync(join(out, f)).mode & 0o777).toBe(0o600);
    }

    const again = await runFogline('certs', 'dev', '--out', out);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists; pass --force/);
    expect(read('server.pem')).toBe(server.toString());
    expect((await runFogline('certs', 'dev', '--out', out, '--force')).code).toBe(0);
    expect(read('server.pem')).not.toBe(server.toString());
  });
});

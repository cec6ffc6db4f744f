import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDevCertificates } from './dev-certs.ts';
import { readServerTls, ServerTls } from './server-tls.ts';

const dir = mkdtempSync(join(tmpdir(), 'fogline-server-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const a = makeDevCertificates(['localhost']);
const b = makeDevCertificates(['localhost']);
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('server certificate files', () => {
  it('reads a matching pair, and names the file that is missing, not PEM, or does not match', async () => {
    const cert = file('cert.pem', a.serverCert);
    const key = file('key.pem', a.serverKey);
    expect(await readServerTls({ certFile: cert, keyFile: key })).toMatchObject({ cert: expect.any(Buffer) });
    await expect(readServerTls({ certFile: join(dir, 'nope.pem'), keyFile: key })).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringContaining('cannot read the TLS certificate'),
    });
    await expect(readServerTls({ certFile: file('junk.pem', 'hello'), keyFile: key })).rejects.toThrow(
      /is not PEM/,
    );
    await expect(
      readServerTls({ certFile: cert, keyFile: file('other-key.pem', b.serverKey) }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringMatching(/cannot be used together/),
    });
  });

  it('reload keeps the old pair when the new one is broken', async () => {
    const cert = file('r-cert.pem', a.serverCert);
    const key = file('r-key.pem', a.serverKey);
    const tls = await ServerTls.load({ certFile: cert, keyFile: key });
    writeFileSync(cert, b.serverCert); // key not renewed yet
    await expect(tls.reload()).rejects.toThrow(/cannot be used together/);
    expect(String(tls.options.cert)).toBe(a.serverCert);
    writeFileSync(key, b.serverKey);
    await tls.reload();
    expect(String(tls.options.cert)).toBe(b.serverCert);
  });
});

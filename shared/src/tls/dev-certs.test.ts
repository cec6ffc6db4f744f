import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeDevCertificates, randomSerial } from './dev-certs.ts';

describe('dev certificates', () => {
  it('serials are 16 bytes, positive and minimally encoded, whatever the random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const serial = randomSerial(bytes);
        expect(serial).toMatch(/^[0-9a-f]{32}$/);
        const first = Number.parseInt(serial.slice(0, 2), 16);
        expect(first).toBeGreaterThanOrEqual(0x01);
        expect(first).toBeLessThanOrEqual(0x7f);
        expect(serial.slice(2)).toBe(Buffer.from(bytes.subarray(1)).toString('hex'));
      }),
    );
  });

  it('makes a CA and a server certificate that OpenSSL parses and that chain', () => {
    const pem = makeDevCertificates(['localhost', '127.0.0.1'], 30);
    const ca = new X509Certificate(pem.caCert);
    const server = new X509Certificate(pem.serverCert);
    expect(ca.ca).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });
});
